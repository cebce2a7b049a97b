"""A cluster for the URL walk (townbrain/tests/test_url_walk.py): 梅城镇 with 大洋镇 (建德市), hidden from 瓜沥镇."""

from townbrain.clusters import services


def seed(users) -> dict:
    cluster = services.create_cluster(users["jiande"], name="建德走查集群", theme="大洋镇走查主题", lead="330182100",
                                      wings=["330182107"])
    services.set_indicator(users["jiande"], cluster, "transport", 2020, status="achieved", text="大洋镇公路")
    return {"cluster": cluster}
