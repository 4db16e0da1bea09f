// Path routes: the gateway serves the same index.html at each of these paths, so /business/ and
// /disclosure open their page directly (docs/portal.md). Nothing personal goes into a path or query.
import { createRouter, createWebHistory } from "vue-router";

export const router = createRouter({
  history: createWebHistory("/"),
  routes: [
    { path: "/", component: () => import("./views/FileComplaint.vue"), meta: { title: "我要投诉" } },
    { path: "/receipt", component: () => import("./views/ReceiptView.vue"), meta: { title: "投诉回执" } },
    { path: "/track", component: () => import("./views/TrackCase.vue"), meta: { title: "进度查询" } },
    { path: "/business/", component: () => import("./views/BusinessArea.vue"), meta: { title: "经营者专区" } },
    { path: "/business", redirect: "/business/" },
    { path: "/disclosure", component: () => import("./views/DisclosureView.vue"), meta: { title: "消费投诉信息公示" } },
    { path: "/:rest(.*)*", redirect: "/" },
  ],
  scrollBehavior: () => ({ top: 0 }),
});

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ""} · 消费纠纷在线服务`;
});
