// Trend charts of one drive on uPlot (vendored, see vendor/package.json): the last 5 minutes,
// one point per tick of the live stream.

const KEEP = 600;
const HEIGHT = 140;
const COLOURS = ['#0b63ce', '#b3261e', '#1e7d32', '#7c3aed'];

// A chart in `el` with one line per label; returns push(t_ms, values) and the resize hook.
export function trendChart(el, title, labels, unit) {
  const data = [[], ...labels.map(() => [])];
  if (typeof window.uPlot !== 'function') {
    el.textContent = 'Charts unavailable (the chart library did not load).';
    return { push() {}, load() {}, resize() {}, destroy() {} };
  }
  const width = () => Math.max(280, el.clientWidth || 280);
  const opts = {
    title,
    width: width(),
    height: HEIGHT,
    legend: { show: labels.length > 1, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [{ stroke: '#333' }, { stroke: '#333', label: unit, size: 60 }],
    series: [{}, ...labels.map((label, i) => ({ label, stroke: COLOURS[i], width: 1.5, spanGaps: false, points: { show: false } }))],
  };
  const plot = new window.uPlot(opts, data, el);
  let dirty = false;
  const draw = () => {
    dirty = false;
    plot.setData(data);
  };
  const schedule = () => {
    if (!dirty) {
      dirty = true;
      requestAnimationFrame(draw);
    }
  };
  const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT }));
  ro.observe(el);
  return {
    push(t, values) {
      el.dataset.points = String(data[0].length + 1);
      data[0].push(t / 1000);
      values.forEach((v, i) => data[i + 1].push(v ?? null));
      if (data[0].length > KEEP) data.forEach((col) => col.splice(0, col.length - KEEP));
      schedule();
    },
    // Columns from GET /drives/{id}/trend (times in ms).
    load(t, columns) {
      el.dataset.points = String(t.length);
      data[0] = t.map((x) => x / 1000);
      columns.forEach((col, i) => {
        data[i + 1] = col.slice();
      });
      schedule();
    },
    destroy() {
      ro.disconnect();
      plot.destroy();
    },
  };
}
