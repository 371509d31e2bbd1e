'use strict';
/**
 * Charts as SVG text, for BENCHMARKS.md: panels stacked one under another, each with its own
 * linear scale from zero. A bar panel is horizontal grouped bars (one group a row, one bar a
 * series) with the value printed at the end of each bar; a line panel is one series of (x, y)
 * points. A bar panel may ask for a log scale (`scale: 'log'`) when its values span decades.
 * No library: the figures come from the measured run and go straight into the text.
 */

const WIDTH = 960;
const LABEL_WIDTH = 190;
const VALUE_ROOM = 190;
const CHARS_PER_LINE = 150;
const BAR = 14;
const BAR_GAP = 3;
const GROUP_GAP = 10;
const PANEL_GAP = 26;
const COLORS = ['#2f6fb0', '#e08a2c', '#4b9e5f', '#b0413e'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function text(x, y, content, attrs = '') {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(content)}</text>`;
}

/** A round number a little above `max`, so that the scale ends on it. */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** Words of `content` in lines of at most CHARS_PER_LINE characters. */
function wrap(content) {
  const lines = [];
  let line = '';
  for (const word of String(content).split(' ')) {
    if (line && line.length + 1 + word.length > CHARS_PER_LINE) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function legend(series, x, y) {
  return series
    .map((name, k) => {
      const lx = x + k * 160;
      return `<rect x="${lx}" y="${y - 9}" width="10" height="10" fill="${COLORS[k % COLORS.length]}"/>` + text(lx + 14, y, name, 'font-size="11" fill="#333"');
    })
    .join('');
}

/** Where a value lands, 0..1 along the axis: linear from zero, or log between two decades. */
function scaleOf(values, kind) {
  const known = values.filter((v) => typeof v === 'number' && Number.isFinite(v) && (kind !== 'log' || v > 0));
  if (kind !== 'log') {
    const max = niceMax(Math.max(0, ...known));
    return (v) => v / max;
  }
  const low = Math.floor(Math.log10(Math.min(...known, 1)));
  const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...known, 1))));
  return (v) => Math.max(0, (Math.log10(v) - low) / (high - low));
}

/**
 * Rows of grouped horizontal bars. `format(value)` writes a bar's label (then the series' name)
 * unless the row gives its own (`labels`); `missing` stands for a value not measured; `marks`
 * are dashed lines across the rows at target values.
 */
function barPanel(panel, top) {
  const { title, series = [''], rows, format = String, missing = 'not measured', scale = 'linear', marks = [] } = panel;
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_ROOM - 20;
  const at = scaleOf([...rows.flatMap((r) => r.values), ...marks.map((m) => m.value)], scale);
  const parts = [text(10, top + 14, title + (scale === 'log' ? ' (log scale)' : ''), 'font-size="14" font-weight="600" fill="#111"')];
  let y = top + 24;
  if (series.length > 1) {
    parts.push(legend(series, LABEL_WIDTH, top + 34));
    y += 18;
  }
  const axisTop = y - 4;
  const valueLabels = [];
  for (const row of rows) {
    const groupHeight = series.length * (BAR + BAR_GAP) - BAR_GAP;
    parts.push(text(LABEL_WIDTH - 8, y + groupHeight / 2 + 4, row.label, 'font-size="12" fill="#222" text-anchor="end"'));
    series.forEach((name, k) => {
      const value = row.values[k];
      const by = y + k * (BAR + BAR_GAP);
      const known = typeof value === 'number' && Number.isFinite(value);
      const w = known ? Math.max(1, at(value) * plotWidth) : 0;
      if (known) parts.push(`<rect x="${LABEL_WIDTH}" y="${by}" width="${w.toFixed(1)}" height="${BAR}" fill="${COLORS[k % COLORS.length]}"/>`);
      const own = row.labels && row.labels[k];
      const label = own || (known ? format(value) : missing) + (series.length > 1 && name ? ` ${name}` : '');
      // Drawn last, with a white halo: readable where a target line crosses it.
      valueLabels.push(text(LABEL_WIDTH + w + 5, by + BAR - 3, label, 'font-size="11" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke"'));
    });
    y += groupHeight + GROUP_GAP;
  }
  const axisBottom = y - GROUP_GAP + 4;
  parts.push(`<line x1="${LABEL_WIDTH}" y1="${axisTop}" x2="${LABEL_WIDTH}" y2="${axisBottom}" stroke="#999"/>`);
  for (const mark of marks) {
    const x = LABEL_WIDTH + at(mark.value) * plotWidth;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${axisTop}" x2="${x.toFixed(1)}" y2="${axisBottom}" stroke="#b0413e" stroke-dasharray="4 3"/>`);
    parts.push(text(x, axisBottom + 12, mark.label, 'font-size="10" fill="#b0413e" text-anchor="middle"'));
  }
  parts.push(...valueLabels);
  return { svg: parts.join(''), height: y - top + (marks.length ? 14 : 0) };
}

/** One line through (x, y) points, with its axes' end values and names. */
function linePanel(panel, top) {
  const { title, points, xLabel, yLabel, format = String, formatX = String } = panel;
  const height = 200;
  const left = 70;
  const plotWidth = WIDTH - left - 40;
  const xMax = niceMax(Math.max(0, ...points.map((p) => p[0])));
  const yMax = niceMax(Math.max(0, ...points.map((p) => p[1])));
  const px = (x) => left + (x / xMax) * plotWidth;
  const py = (y) => top + 30 + height - (y / yMax) * height;
  const path = points.map((p, k) => `${k ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
  const parts = [
    text(10, top + 14, title, 'font-size="14" font-weight="600" fill="#111"'),
    `<line x1="${left}" y1="${py(0)}" x2="${left + plotWidth}" y2="${py(0)}" stroke="#999"/>`,
    `<line x1="${left}" y1="${py(0)}" x2="${left}" y2="${py(yMax)}" stroke="#999"/>`,
    text(left - 6, py(yMax) + 4, format(yMax), 'font-size="11" fill="#333" text-anchor="end"'),
    text(left - 6, py(yMax / 2) + 4, format(yMax / 2), 'font-size="11" fill="#333" text-anchor="end"'),
    text(left - 6, py(0) + 4, '0', 'font-size="11" fill="#333" text-anchor="end"'),
    `<line x1="${left}" y1="${py(yMax / 2)}" x2="${left + plotWidth}" y2="${py(yMax / 2)}" stroke="#ddd"/>`,
    ...[0.25, 0.5, 0.75, 1].map((q) => text(px(q * xMax), py(0) + 14, formatX(q * xMax), 'font-size="11" fill="#333" text-anchor="middle"')),
    text(left + plotWidth / 2, py(0) + 28, xLabel, 'font-size="11" fill="#333" text-anchor="middle"'),
    text(left + 6, py(yMax) - 4, yLabel, 'font-size="11" fill="#333"'),
    `<path d="${path}" fill="none" stroke="${COLORS[0]}" stroke-width="2"/>`,
  ];
  return { svg: parts.join(''), height: height + 64 };
}

/** The whole chart: a title, a subtitle, the panels in order, and footer lines (long lines wrapped). */
function renderChart({ title, subtitle = '', panels, footer = [] }) {
  const parts = [text(10, 24, title, 'font-size="17" font-weight="700" fill="#111"')];
  let top = 42;
  for (const line of wrap(subtitle)) {
    parts.push(text(10, top, line, 'font-size="11" fill="#555"'));
    top += 14;
  }
  top += 6;
  for (const panel of panels) {
    const drawn = panel.type === 'line' ? linePanel(panel, top) : barPanel(panel, top);
    parts.push(drawn.svg);
    top += drawn.height + PANEL_GAP;
  }
  for (const line of footer.flatMap(wrap)) {
    parts.push(text(10, top, line, 'font-size="10.5" fill="#555"'));
    top += 15;
  }
  const height = Math.ceil(top + 6);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>\n` +
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`
  );
}

module.exports = { renderChart };
