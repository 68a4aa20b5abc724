/**
 * The /docs/<id> editor page (documents/templates/documents/editor.html): a <textarea> bound to the
 * document's Y.Text `content`, over y-websocket to the tenant's /ws/docs/<id>. The page is on the
 * tenant host, so the socket is authenticated by the session cookie (no ticket) and the provider can
 * reconnect by itself. The others in the document, and where their caret is, come from awareness.
 *
 * Bundled by build.mjs into ../static/documents/editor.js (committed): `npm ci && npm run build`.
 */
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { caretLayer } from "./carets.js";
import { bindTextarea } from "./textarea.js";

const COLORS = ["#1b6ac9", "#b3261e", "#187a3b", "#8a5a00", "#6f3bb5", "#00737a"];

function lineColumn(text, index) {
  const before = text.slice(0, index).split("\n");
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

export function mountEditor(root) {
  const { documentId, userName, readOnly } = root.dataset;
  const textarea = root.querySelector("textarea");
  const status = root.querySelector("[data-status]");
  const people = root.querySelector("[data-people]");

  const doc = new Y.Doc();
  const text = doc.getText("content");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  // Every tab goes through the server (no BroadcastChannel shortcut between tabs of this browser).
  const provider = new WebsocketProvider(`${scheme}//${location.host}/ws/docs`, documentId, doc, { disableBc: true });
  const awareness = provider.awareness;
  awareness.setLocalStateField("user", { name: userName, color: COLORS[doc.clientID % COLORS.length] });

  textarea.readOnly = readOnly === "true";
  textarea.disabled = true; // until the first sync: then it shows the document, not an empty box
  bindTextarea(text, textarea);
  const drawCarets = caretLayer(textarea);

  const show = (state, label) => {
    status.dataset.state = state;
    status.textContent = label;
  };
  provider.on("status", ({ status: state }) => {
    if (state === "connected") show(provider.synced ? "synced" : "connected", provider.synced ? "live" : "connected");
    else show(state, state === "connecting" ? "connecting" : "offline, reconnecting (edits are kept and sent)");
  });
  provider.on("sync", (synced) => {
    if (!synced) return;
    textarea.disabled = false;
    show("synced", "live");
  });
  provider.on("connection-close", (event) => {
    if (event && event.code >= 4400 && event.code < 4500 && event.code !== 4408 && event.code !== 4429) {
      provider.shouldConnect = false; // refused (4403, 4404, 4413…): reconnecting will not help
      show("refused", `closed by the server: ${event.reason || event.code}`);
    }
  });

  // Leaving the page (even into the back/forward cache, where the socket may stay open) leaves the
  // document: the server drops this tab's awareness for everyone. Coming back reconnects.
  window.addEventListener("pagehide", () => provider.disconnect());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) provider.connect();
  });

  const sendCursor = () => {
    if (document.activeElement !== textarea) return;
    awareness.setLocalStateField("cursor", {
      anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, textarea.selectionStart)),
      head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, textarea.selectionEnd)),
    });
  };
  for (const name of ["select", "keyup", "mouseup", "input", "focus"]) textarea.addEventListener(name, sendCursor);
  document.addEventListener("selectionchange", sendCursor);
  textarea.addEventListener("blur", () => awareness.setLocalStateField("cursor", null));

  const render = () => {
    const value = text.toString();
    const items = [];
    const carets = [];
    awareness.getStates().forEach((state, clientId) => {
      if (clientId === doc.clientID || !state.user) return;
      const li = document.createElement("li");
      li.dataset.clientId = String(clientId);
      const name = document.createElement("span");
      name.className = "name";
      name.style.color = state.user.color || "inherit";
      name.textContent = state.user.name || "someone";
      li.append(name);
      if (state.cursor && state.cursor.head) {
        const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(state.cursor.head), doc);
        if (head && head.type === text) {
          li.append(` at ${lineColumn(value, head.index)}`);
          carets.push({ clientId, index: head.index, name: name.textContent, color: name.style.color });
        }
      }
      items.push(li);
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "alone";
      li.textContent = "nobody else";
      items.push(li);
    }
    people.replaceChildren(...items);
    drawCarets(value, carets);
  };
  awareness.on("change", render);
  text.observe(render);
  render();

  window.documentEditor = { doc, text, provider, awareness };
  return window.documentEditor;
}

const root = document.querySelector("[data-document-editor]");
if (root) mountEditor(root);
