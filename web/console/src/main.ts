import ElementPlus from "element-plus";
import zhCn from "element-plus/es/locale/lang/zh-cn";
import "element-plus/dist/index.css";
// the Chinese font ships with the console: an intranet PC or a bare Linux may have none
import "@fontsource/noto-sans-sc/400.css";
import { createApp } from "vue";
import App from "./App.vue";
import { router } from "./router";
import "./style.css";

createApp(App).use(ElementPlus, { locale: zhCn }).use(router).mount("#app");
