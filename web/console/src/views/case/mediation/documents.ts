// A mediation document (调解笔录, 调解协议书, 终止调解告知书) in a new tab: fetched with the bearer
// token (a plain link carries none and answers 401) and shown from a blob, with a print bar on top
// that the printout leaves out. The tab is opened at the click, so no popup blocker stops it.
import { api } from "../../../api";

const PRINT_BAR = `
<style>
  .console-print-bar { position: sticky; top: 0; display: flex; gap: 8px; justify-content: flex-end;
    padding: 8px; background: #f5f7fa; border-bottom: 1px solid #dcdfe6; }
  .console-print-bar button { min-height: 44px; min-width: 88px; font-size: 16px; cursor: pointer; }
  @media print { .console-print-bar { display: none; } }
</style>
<div class="console-print-bar"><button type="button" id="print-document" onclick="window.print()">打印</button></div>`;

/** The document's HTML with the print bar; `printNow` also opens the print dialog once it shows. */
function printable(html: string, printNow: boolean): string {
  const doc = new DOMParser().parseFromString(html, "text/html");
  doc.body.insertAdjacentHTML("afterbegin", PRINT_BAR);
  if (printNow) {
    const script = doc.createElement("script");
    script.textContent = 'addEventListener("load", () => window.print());';
    doc.body.append(script);
  }
  return `<!DOCTYPE html>\n${doc.documentElement.outerHTML}`;
}

export async function openDocument(path: string, printNow = false): Promise<void> {
  const tab = window.open("", "_blank");
  try {
    const blob = await api<Blob>(path, { blob: true });
    const page = new Blob([printable(await blob.text(), printNow)], { type: "text/html;charset=utf-8" });
    const url = URL.createObjectURL(page);
    if (tab) tab.location.href = url;
    else window.location.href = url;
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    tab?.close();
    throw error;
  }
}
