import { createApp } from "vue";
import Vant from "vant";
import "vant/lib/index.css";
// the Chinese font from this server (no CDN), in slices fetched as characters appear
import "@fontsource/noto-sans-sc/400.css";
import App from "./App.vue";
import { router } from "./router";
import "./style.css";

createApp(App).use(Vant).use(router).mount("#app");
