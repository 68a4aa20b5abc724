// A stock Yjs client (yjs + y-websocket's WebsocketProvider) for tests/documents/test_node_client.py.
// node ydoc_client.mjs <ws base, e.g. ws://127.0.0.1:8000/ws/docs> <document id> <ticket> <host> <append> <wait for>
// Connects, waits for sync, appends <append> to the Y.Text `content`, waits until the text contains
// <wait for>, then prints {"text": …} and exits (1 on a 10 s timeout).
import WebSocket from "ws";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";

const [base, documentId, ticket, host, append, waitFor] = process.argv.slice(2);

class HostedWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { headers: { Host: host } }); // the tenant host, like a browser on it
  }
}

const doc = new Y.Doc();
const text = doc.getText("content");
const provider = new WebsocketProvider(base, documentId, doc, {
  params: { ticket },
  WebSocketPolyfill: HostedWebSocket,
  disableBc: true,
  maxBackoffTime: 60000, // a ticket is good once: no reconnect in this test
});
provider.awareness.setLocalStateField("user", { name: "node" });

const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: "timeout", text: text.toString() }));
  process.exit(1);
}, 10000);

const done = () => {
  if (text.toString().includes(waitFor)) {
    clearTimeout(timer);
    console.log(JSON.stringify({ text: text.toString() }));
    provider.destroy();
    setTimeout(() => process.exit(0), 100);
  }
};

provider.on("sync", (synced) => {
  if (!synced) return;
  text.insert(text.length, append);
  text.observe(done);
  done();
});
