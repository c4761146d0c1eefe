// Draws media/icon.png (128x128): a padlock whose shackle is cut by a red lightning "race", on lockpath's banner
// colour. Plain node (zlib for the PNG's deflate), so the icon can be redrawn anywhere: node client/draw-icon.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const N = 128;
const px = new Float32Array(N * N * 4);
const SS = 4; // supersampling per axis, for smooth edges

const bg = [0x1d, 0x24, 0x33];
const lock = [0xe8, 0xec, 0xf2];
const race = [0xf1, 0x4c, 0x4c];
const hole = [0x1d, 0x24, 0x33];

const inRoundRect = (x, y, x0, y0, x1, y1, r) => {
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r && x >= x0 && x <= x1 && y >= y0 && y <= y1;
};
const distToSegment = (x, y, ax, ay, bx, by) => {
  const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
  return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay)));
};
const bolt = [
  [86, 18],
  [70, 50],
  [84, 52],
  [64, 84],
];

function colourAt(x, y) {
  if (!inRoundRect(x, y, 2, 2, 126, 126, 22)) return null;
  let c = bg;
  // shackle: the upper half of a ring
  const d = Math.hypot(x - 64, y - 56);
  if (y <= 58 && d >= 20 && d <= 30) c = lock;
  if (y > 56 && y <= 64 && ((x >= 34 && x <= 44) || (x >= 84 && x <= 94))) c = lock;
  // body
  if (inRoundRect(x, y, 26, 60, 102, 112, 10)) c = lock;
  // keyhole
  if (Math.hypot(x - 64, y - 80) <= 7 || (x >= 61 && x <= 67 && y >= 80 && y <= 96)) c = hole;
  // the race: a bolt through the shackle
  for (let i = 1; i < bolt.length; i++) if (distToSegment(x, y, ...bolt[i - 1], ...bolt[i]) <= 4.5) c = race;
  return c;
}

for (let y = 0; y < N; y++) {
  for (let x = 0; x < N; x++) {
    const acc = [0, 0, 0, 0];
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const c = colourAt(x + (sx + 0.5) / SS, y + (sy + 0.5) / SS);
        if (!c) continue;
        acc[0] += c[0];
        acc[1] += c[1];
        acc[2] += c[2];
        acc[3] += 255;
      }
    }
    const n = SS * SS;
    const a = acc[3] / n;
    const o = (y * N + x) * 4;
    // straight (not premultiplied) alpha
    px[o] = a ? acc[0] / (acc[3] / 255) : 0;
    px[o + 1] = a ? acc[1] / (acc[3] / 255) : 0;
    px[o + 2] = a ? acc[2] / (acc[3] / 255) : 0;
    px[o + 3] = a;
  }
}

const raw = Buffer.alloc(N * (N * 4 + 1));
for (let y = 0; y < N; y++) {
  raw[y * (N * 4 + 1)] = 0;
  for (let i = 0; i < N * 4; i++) raw[y * (N * 4 + 1) + 1 + i] = Math.round(px[y * N * 4 + i]);
}
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const c = Buffer.alloc(4);
  c.writeUInt32BE(crc(td));
  return Buffer.concat([len, td, c]);
};
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(N, 0);
ihdr.writeUInt32BE(N, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', deflateSync(raw, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
const out = new URL('../media/icon.png', import.meta.url);
writeFileSync(out, png);
console.log(`wrote ${out.pathname} (${png.length} bytes)`);
