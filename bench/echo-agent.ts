// The far end of the relay path for relay_throughput_ratio: an agent that echoes each session's
// sealed payload back unchanged (it measures routing, not the agent), in its own process.
import WebSocket from 'ws';

const [url, tenant, secret, bundleJson] = process.argv.slice(2) as [string, string, string, string];
const ws = new WebSocket(`${url}/v1/agent?tenant=${tenant}`, { headers: { authorization: `Bearer ${secret}` }, perMessageDeflate: false });
ws.on('open', () => {
  ws.send(JSON.stringify({ t: 'hello', agent: 'bench-echo', bundle: JSON.parse(bundleJson) }));
  process.stdout.write('ready\n');
});
ws.on('message', (raw) => {
  const frame = JSON.parse(raw.toString()) as { t: string; sid: string; data?: string };
  if (frame.t === 'msg') ws.send(JSON.stringify({ t: 'msg', sid: frame.sid, data: frame.data }));
});
