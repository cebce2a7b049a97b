from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from townbrain.acceptance import api as acceptance_api
from townbrain.acceptance import views as acceptance_views
from townbrain.access import api as access_api
from townbrain.access import views as access_views
from townbrain.assessments import api as assessments_api
from townbrain.assessments import views as assessments_views
from townbrain.clusters import api as clusters_api
from townbrain.clusters import views as clusters_views
from townbrain.cockpit import views as cockpit_views
from townbrain.core import api_views as core_api
from townbrain.core import views as core_views
from townbrain.exchange import api as exchange_api
from townbrain.exchange import views as exchange_views
from townbrain.experts import api as experts_api
from townbrain.experts import views as experts_views
from townbrain.governance import api as governance_api
from townbrain.indicators import api as indicators_api
from townbrain.indicators import views as indicators_views
from townbrain.investment import api as investment_api
from townbrain.jobs import api as jobs_api
from townbrain.jobs import views as jobs_views
from townbrain.programmes import api as programmes_api
from townbrain.programmes import views as programmes_views
from townbrain.projects import api as projects_api
from townbrain.projects import views as projects_views
from townbrain.publicity import api as publicity_api
from townbrain.reports import api as reports_api
from townbrain.workplans import api as workplans_api

router = DefaultRouter()
router.register("orgunits", core_api.OrgUnitViewSet, basename="orgunit")
router.register("audit", core_api.AuditViewSet, basename="audit")
router.register("users", access_api.UserViewSet, basename="user")
router.register("memberships", access_api.MembershipViewSet, basename="membership")
router.register("programmes", programmes_api.ProgrammeViewSet, basename="programme")
router.register("projects", projects_api.ProjectViewSet, basename="project")
router.register("progress", projects_api.ProgressViewSet, basename="progress")
router.register("targets", programmes_api.TargetViewSet, basename="target")
router.register("enrolments", programmes_api.EnrolmentViewSet, basename="enrolment")
router.register("imports", exchange_api.ImportViewSet, basename="import")
router.register("data-warnings", exchange_api.DataWarningViewSet, basename="data-warning")
router.register("assessment-schemes", assessments_api.SchemeViewSet, basename="assessment-scheme")
router.register("assessment-runs", assessments_api.RunViewSet, basename="assessment-run")
router.register("assessment-results", assessments_api.ResultViewSet, basename="assessment-result")
router.register("acceptances", acceptance_api.AcceptanceViewSet, basename="acceptance")
router.register("experts", experts_api.ExpertViewSet, basename="expert")
router.register("expert-assignments", experts_api.AssignmentViewSet, basename="expert-assignment")
router.register("expert-activities", experts_api.ActivityViewSet, basename="expert-activity")
router.register("expert-problems", experts_api.ProblemViewSet, basename="expert-problem")
router.register("dataelements", indicators_api.DataElementViewSet, basename="dataelement")
router.register("datavalues", indicators_api.DataValueViewSet, basename="datavalue")
router.register("indicators", indicators_api.IndicatorViewSet, basename="indicator")
router.register("validationrules", indicators_api.ValidationRuleViewSet, basename="validationrule")
router.register("events", governance_api.EventViewSet, basename="event")
router.register("event-categories", governance_api.CategoryViewSet, basename="event-category")
router.register("deals", investment_api.DealViewSet, basename="deal")
router.register("deal-funds", investment_api.ReceiptViewSet, basename="deal-funds")
router.register("articles", publicity_api.ArticleViewSet, basename="article")
router.register("article-quotas", publicity_api.QuotaViewSet, basename="article-quota")
router.register("honours", publicity_api.HonourViewSet, basename="honour")
router.register("clusters", clusters_api.ClusterViewSet, basename="cluster")
router.register("work-plans", workplans_api.WorkPlanViewSet, basename="workplan")
router.register("work-plan-items", workplans_api.WorkPlanItemViewSet, basename="workplanitem")
router.register("jobs", jobs_api.JobViewSet, basename="job")

api_urls = [
    path("auth/token/", access_api.TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("rollups/", clusters_api.RollupView.as_view(), name="rollups"),  # ?org= or ?cluster=
    path("validation/", indicators_api.ValidationView.as_view(), name="validation"),
    path("standard/", exchange_api.StandardView.as_view(), name="standard"),
    path("standard/<str:kind>/", exchange_api.StandardKindView.as_view(), name="standard-kind"),
    path("standard/<str:kind>/template.xlsx", exchange_api.TemplateView.as_view(), name="standard-template"),
    path("warnings/", projects_api.WarningsView.as_view(), name="warnings"),
    path("briefings/", reports_api.BriefingView.as_view(), name="briefings"),
    path("reporting/", include("townbrain.reporting.api_urls")),
    path("", include("townbrain.sensing.api_urls")),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", cockpit_views.cockpit_home, name="home"),
    path("", include("townbrain.cockpit.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/catalog.js", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("org-picker/", core_views.org_picker, name="org-picker"),
    path("org/", core_views.OrgUnitListView.as_view(), name="orgunit-list"),
    path("org/<str:code>/", core_views.orgunit_detail, name="orgunit-detail"),
    path("org/<str:code>/edit/", core_views.orgunit_edit, name="orgunit-edit"),
    path("org/<str:code>/history/", core_views.orgunit_history, name="orgunit-history"),
    path("org/<str:code>/targets/", projects_views.orgunit_targets, name="orgunit-targets"),
    path("org/<str:code>/values/", indicators_views.entry, name="datavalue-entry-default"),
    path("org/<str:code>/values/<str:period>/", indicators_views.entry, name="datavalue-entry"),
    path("indicators/", indicators_views.IndicatorListView.as_view(), name="indicator-list"),
    path("indicators/elements/", indicators_views.DataElementListView.as_view(), name="dataelement-list"),
    path("indicators/elements/<slug:code>/", indicators_views.element_detail, name="dataelement-page"),
    path("indicators/validation/", indicators_views.validation, name="indicator-validation"),
    path("indicators/<slug:code>/", indicators_views.indicator_detail, name="indicator-page"),
    path("audit/", core_views.AuditListView.as_view(), name="audit-list"),
    path("assessments/", assessments_views.RunListView.as_view(), name="assessment-run-list"),
    path("assessments/runs/new/", assessments_views.run_create, name="assessment-run-create"),
    path("assessments/runs/<int:pk>/", assessments_views.run_detail, name="assessment-run-detail"),
    path("assessments/results/", assessments_views.ResultListView.as_view(), name="assessment-result-list"),
    path("assessments/results/<int:pk>/", assessments_views.result_detail, name="assessment-result-detail"),
    path("assessments/schemes/", assessments_views.scheme_list, name="assessment-scheme-list"),
    path("assessments/schemes/<slug:code>/", assessments_views.scheme_detail, name="assessment-scheme-detail"),
    path("assessments/schemes/<slug:code>/copy/", assessments_views.scheme_copy, name="assessment-scheme-copy"),
    path("assessments/criteria/<int:pk>/edit/", assessments_views.criterion_edit, name="assessment-criterion-edit"),
    path("acceptance/", acceptance_views.AcceptanceListView.as_view(), name="acceptance-list"),
    path("acceptance/open/", acceptance_views.acceptance_open, name="acceptance-open"),
    path("acceptance/<int:pk>/", acceptance_views.acceptance_detail, name="acceptance-detail"),
    path("acceptance/evidence/<int:pk>/", acceptance_views.evidence_file, name="acceptance-evidence"),
    path("experts/", experts_views.ExpertListView.as_view(), name="expert-list"),
    path("experts/me/", experts_views.expert_home, name="expert-home"),  # an expert's landing page
    path("experts/new/", experts_views.expert_create, name="expert-create"),
    path("experts/<int:pk>/", experts_views.expert_detail, name="expert-detail"),
    path("experts/<int:pk>/edit/", experts_views.expert_edit, name="expert-edit"),
    path("experts/activities/", experts_views.ActivityListView.as_view(), name="expert-activity-list"),
    path("experts/activities/new/", experts_views.activity_create, name="expert-activity-create"),
    path("experts/activities/<int:pk>/", experts_views.activity_edit, name="expert-activity-edit"),
    path("experts/types/", experts_views.activity_types, name="activity-type-list"),
    path("experts/problems/", experts_views.ProblemListView.as_view(), name="expert-problem-list"),
    path("experts/problems/<int:pk>/", experts_views.problem_edit, name="expert-problem-edit"),
    path("experts/activities/<int:pk>/problems/new/", experts_views.problem_create, name="expert-problem-create"),
    path("imports/", exchange_views.ImportListView.as_view(), name="import-list"),
    path("imports/upload/", exchange_views.import_upload, name="import-upload"),
    path("imports/plan/<str:token>/", exchange_views.import_plan, name="import-plan"),
    path("imports/errors/<str:token>/", exchange_views.import_errors, name="import-errors"),
    path("imports/<int:pk>/", exchange_views.import_detail, name="import-detail"),
    path("imports/checked/<int:pk>/apply/", exchange_views.import_job_apply, name="import-job-apply"),
    path("imports/checked/<int:pk>/errors/", exchange_views.import_job_errors, name="import-job-errors"),
    path("quality/", exchange_views.QualityListView.as_view(), name="quality-list"),
    path("jobs/", jobs_views.job_list, name="job-list"),
    path("jobs/<int:pk>/", jobs_views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/status/", jobs_views.job_status, name="job-status"),
    path("jobs/<int:pk>/cancel/", jobs_views.job_cancel, name="job-cancel"),
    path("jobs/<int:pk>/retry/", jobs_views.job_retry, name="job-retry"),
    path("jobs/rollups/", jobs_views.rollups_rebuild, name="job-rollups"),
    path("jobs/<int:pk>/file/", jobs_views.job_file, name="job-file"),
    path("jobs/demo/", jobs_views.demo_load, name="job-demo"),
    path("history/<str:object_type>/<str:object_id>/", core_views.object_history, name="object-history"),
    path("projects/", projects_views.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:pk>/", projects_views.project_detail, name="project-detail"),
    path("projects/new/", projects_views.project_create, name="project-create"),
    path("projects/<int:pk>/edit/", projects_views.project_edit, name="project-edit"),
    path("rollups/", clusters_views.rollup_page, name="rollup-page"),  # ?cluster= opens the cluster's page
    path("warnings/", projects_views.warning_list, name="warning-list"),
    path("targets/", programmes_views.TargetListView.as_view(), name="target-list"),
    path("targets/<int:pk>/", programmes_views.target_detail, name="target-detail"),
    path("enrolments/", programmes_views.EnrolmentListView.as_view(), name="enrolment-list"),
    path("enrolments/new/", programmes_views.enrolment_create, name="enrolment-create"),
    path("enrolments/<int:pk>/", programmes_views.enrolment_detail, name="enrolment-detail"),
    path("programmes/", programmes_views.programme_list, name="programme-list"),
    path("programmes/new/", programmes_views.programme_create, name="programme-create"),
    path("programmes/<slug:code>/", programmes_views.programme_detail, name="programme-detail"),
    path("users/", access_views.UserListView.as_view(), name="user-list"),
    path("users/new/", access_views.user_create, name="user-create"),
    path("users/<int:pk>/", access_views.user_detail, name="user-detail"),
    path("api/", include((api_urls, "api"))),
    path("", include("townbrain.governance.urls")),
    path("", include("townbrain.reporting.urls")),
    path("", include("townbrain.sensing.urls")),
    path("", include("townbrain.investment.urls")),
    path("", include("townbrain.publicity.urls")),
    path("", include("townbrain.clusters.urls")),
    path("", include("townbrain.workplans.urls")),
]

handler404 = "townbrain.core.drf.not_found"  # JSON under /api/
