from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from townbrain.access import api as access_api
from townbrain.access import views as access_views
from townbrain.core import api_views as core_api
from townbrain.core import views as core_views
from townbrain.programmes import api as programmes_api
from townbrain.projects import api as projects_api
from townbrain.projects import views as projects_views

router = DefaultRouter()
router.register("orgunits", core_api.OrgUnitViewSet, basename="orgunit")
router.register("audit", core_api.AuditViewSet, basename="audit")
router.register("users", access_api.UserViewSet, basename="user")
router.register("memberships", access_api.MembershipViewSet, basename="membership")
router.register("programmes", programmes_api.ProgrammeViewSet, basename="programme")
router.register("projects", projects_api.ProjectViewSet, basename="project")
router.register("progress", projects_api.ProgressViewSet, basename="progress")

api_urls = [
    path("auth/token/", access_api.TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("rollups/", projects_api.RollupView.as_view(), name="rollups"),
    path("warnings/", projects_api.WarningsView.as_view(), name="warnings"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("org/", core_views.OrgUnitListView.as_view(), name="orgunit-list"),
    path("org/<str:code>/", core_views.orgunit_detail, name="orgunit-detail"),
    path("org/<str:code>/edit/", core_views.orgunit_edit, name="orgunit-edit"),
    path("org/<str:code>/history/", core_views.orgunit_history, name="orgunit-history"),
    path("audit/", core_views.AuditListView.as_view(), name="audit-list"),
    path("projects/", projects_views.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:pk>/", projects_views.project_detail, name="project-detail"),
    path("users/", access_views.UserListView.as_view(), name="user-list"),
    path("users/new/", access_views.user_create, name="user-create"),
    path("users/<int:pk>/", access_views.user_detail, name="user-detail"),
    path("api/", include((api_urls, "api"))),
]
