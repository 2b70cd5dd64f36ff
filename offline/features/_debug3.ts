import { decodeEvent, type ClickEvent } from '../../core/event.js';
import { referenceAccept } from '../../core/reference.js';
import { generateClickstream } from '../../fixtures/generator.js';
const decoded: ClickEvent[] = [];
for (const r of generateClickstream({ seed: 'offline-features', startMs: Date.UTC(2024, 2, 4), rate: 0.12, durationS: 3 * 86_400, users: 120, items: 300, late: 0.03, duplicates: 0.04, malformed: 0.02, outOfOrder: 0.1, allowedLatenessMs: 600000 })) {
  const res = decodeEvent(r.value, r.clockMs + Math.floor(r.clockMs % 7_000)); if (res.ok) decoded.push(res.event);
}
const acc = referenceAccept(decoded, 600000).filter((e) => e.user_id === 'u1' && e.event_type === 'view' && e.event_time >= 1709723580000 && e.event_time < 1709727229207);
for (const e of acc) console.log(e.event_id, e.event_time);
