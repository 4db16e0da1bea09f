// Documents and evidence files are fetched with the bearer token (a plain link would carry none and
// answer 401), then shown from a blob: in a new tab, printed from a hidden frame, or saved.
import { api } from "./api";

async function blobUrl(path: string): Promise<string> {
  const blob = await api<Blob>(path, { blob: true });
  return URL.createObjectURL(blob);
}

/** Open in a new tab. The tab is opened at the click, so no popup blocker stops it. */
export async function openInNewTab(path: string): Promise<void> {
  const tab = window.open("", "_blank");
  try {
    const url = await blobUrl(path);
    if (tab) tab.location.href = url;
    else window.location.href = url;
  } catch (error) {
    tab?.close();
    throw error;
  }
}

/** Print through a hidden frame on this page. */
export async function printDocument(path: string): Promise<void> {
  const url = await blobUrl(path);
  const frame = document.createElement("iframe");
  frame.style.position = "fixed";
  frame.style.width = "0";
  frame.style.height = "0";
  frame.style.border = "0";
  frame.setAttribute("aria-hidden", "true");
  frame.src = url;
  document.body.append(frame);
  await new Promise<void>((resolve) => frame.addEventListener("load", () => resolve(), { once: true }));
  frame.contentWindow?.focus();
  frame.contentWindow?.print();
  // the print dialog blocks until closed; the frame is not needed after it
  setTimeout(() => {
    frame.remove();
    URL.revokeObjectURL(url);
  }, 60_000);
}

export async function download(path: string, filename: string): Promise<void> {
  const url = await blobUrl(path);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A blob: URL for an inline preview (an image); the caller revokes it. */
export function previewUrl(path: string): Promise<string> {
  return blobUrl(path);
}
