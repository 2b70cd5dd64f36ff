import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CSV_COLUMNS, csvToSamples, samplesToCsv } from './soak-csv.js';
import { soakChartSvg, svgToPng } from './soak-plot.js';
import type { SoakSample } from './soak-sampler.js';

const sample = (i: number): SoakSample => ({
  at: Date.UTC(2026, 10, 28, 12, 0, i * 5), elapsedS: i * 5, eventTime: Date.UTC(2026, 10, 1) + i * 3_600_000, sent: i * 500, rate: 500,
  rss: { online: 200e6 + i, offline: 180e6, api: i === 3 ? NaN : 150e6, jobs: 120e6 },
  redisUsedMemory: 50e6, redisNamespaceBytes: 10e6 + i * 1000, redisKeys: { tiles: 900 + i, bull: 13, other: 100 },
  lag: { online: i * 10, offline: 5 }, apiRequests: i * 10, apiErrors: 0,
});

test('samples survive a CSV round trip (a process not running is an empty cell)', () => {
  const samples = Array.from({ length: 6 }, (_, i) => sample(i));
  const csv = samplesToCsv(samples);
  assert.equal(csv.split('\n')[0], CSV_COLUMNS.join(','));
  const back = csvToSamples(csv);
  assert.equal(back.length, 6);
  assert.deepEqual(back[2], sample(2));
  assert.ok(Number.isNaN(back[3]?.rss.api));
});

test('the plot renders to a PNG of the requested size', () => {
  const svg = soakChartSvg(Array.from({ length: 12 }, (_, i) => sample(i)), { title: 't', subtitle: 's', horizonAtMin: 0.2, width: 600, height: 500 });
  assert.match(svg, /^<svg/);
  const png = svgToPng(svg);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 600);
  assert.equal(png.readUInt32BE(20), 500);
});
