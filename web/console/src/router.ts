// Hash routes (#/cases/<id>): the gateway serves one index.html, reload and back keep the view.
// Without a session every route shows the login, which then returns to the route asked for.
import { createRouter, createWebHashHistory } from "vue-router";
import { loggedIn, onSessionExpired } from "./api";

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", redirect: "/dashboard" },
    { path: "/dashboard", name: "dashboard", component: () => import("./views/DashboardView.vue") },
    { path: "/supervision", name: "supervision", component: () => import("./views/SupervisionView.vue") },
    { path: "/reports", name: "reports", component: () => import("./views/ReportsView.vue") },
    { path: "/login", name: "login", component: () => import("./views/LoginView.vue"), meta: { public: true } },
    { path: "/cases", name: "cases", component: () => import("./views/CaseList.vue") },
    { path: "/cases/new", name: "new-case", component: () => import("./views/ComplaintForm.vue") },
    { path: "/cases/:id", name: "case", component: () => import("./views/CaseDetail.vue"), props: true },
    { path: "/clocks", name: "clocks", component: () => import("./views/ClocksView.vue") },
    { path: "/inbox", name: "inbox", component: () => import("./views/InboxView.vue") },
    { path: "/admin", name: "admin", component: () => import("./views/admin/AdminView.vue") },
    { path: "/agency", name: "agency", component: () => import("./views/agency/AgencyCases.vue") },
    { path: "/:rest(.*)*", redirect: "/cases" },
  ],
});

router.beforeEach((to) => {
  if (to.meta.public || loggedIn()) return true;
  return { name: "login", query: { back: to.fullPath } };
});

// the session ran out mid-work: log in again, then come back to this very place (its form drafts
// are kept in sessionStorage by useDraft)
onSessionExpired(() => {
  const current = router.currentRoute.value;
  if (current.name === "login") return;
  void router.replace({ name: "login", query: { back: current.fullPath, expired: "1" } });
});
