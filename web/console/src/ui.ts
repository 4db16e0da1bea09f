// Small shared helpers of the views: phone layout, dates, confirmations, showing errors.
import { ElMessage, ElMessageBox } from "element-plus";
import { onBeforeUnmount, ref, type Ref } from "vue";
import { describeError } from "./labels";

const PHONE = "(max-width: 768px)";

/** True on a phone-sized screen (tables become cards there). */
export function useNarrow(): Ref<boolean> {
  const query = window.matchMedia(PHONE);
  const narrow = ref(query.matches);
  const update = (event: MediaQueryListEvent) => (narrow.value = event.matches);
  query.addEventListener("change", update);
  onBeforeUnmount(() => query.removeEventListener("change", update));
  return narrow;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—";
}

export function day(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleDateString("zh-CN") : "—";
}

export function yuan(amount: string | number | null | undefined): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  return `${Number(amount).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} 元`;
}

/** Ask before an action that cannot be undone; false when the person cancels. */
export async function confirmAction(message: string, title = "请确认"): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, { confirmButtonText: "确定", cancelButtonText: "取消", type: "warning" });
    return true;
  } catch {
    return false;
  }
}

export function showError(error: unknown): string {
  const text = typeof error === "string" ? error : describeError(error);
  ElMessage({ type: "error", message: text, duration: 6000, showClose: true });
  return text;
}
