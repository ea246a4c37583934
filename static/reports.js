// The report pages' charts (Apache ECharts, static/vendor/echarts/): each chart is drawn from the numbers of the
// table under it (the cells' data-v), following the spec in its data-chart attribute (reports.base.Chart).
// Canvas rendering and canvas tooltips (renderMode "richText"): no inline style attributes, which the
// Content-Security-Policy refuses.
(() => {
  "use strict";

  function readTable(table) {
    const keys = Array.from(table.tHead.rows[0].cells).map((th) => th.dataset.key);
    const labels = Array.from(table.tHead.rows[0].cells).map((th) => th.textContent.trim());
    const rows = Array.from(table.tBodies[0].rows).map((tr) => {
      const row = {};
      Array.from(tr.cells).forEach((td, i) => {
        row[keys[i]] = td.dataset.v !== undefined ? Number(td.dataset.v) : td.textContent.trim();
      });
      return row;
    });
    return { keys, labels, rows };
  }

  function option(spec, data) {
    const label = (key) => data.labels[data.keys.indexOf(key)] || key;
    const categories = [];
    if (spec.group) {
      // Long rows (month × group): one category per distinct x.
      data.rows.forEach((row) => {
        const x = String(row[spec.x]);
        if (!categories.includes(x)) categories.push(x);
      });
    } else {
      // One category per row, each bar beside its own row: two books of one title (法理学 by two authors) are
      // two bars, told apart by the detail column (the author) and, failing that, by their position.
      const names = data.rows.map((row) => String(row[spec.x]));
      names.forEach((name, i) => {
        let label = name;
        if (names.indexOf(name) !== names.lastIndexOf(name) && spec.detail && data.rows[i][spec.detail]) {
          label = `${name}（${data.rows[i][spec.detail]}）`;
        }
        while (categories.includes(label)) label = `${label} ·${i + 1}`;
        categories.push(label);
      });
    }
    let series;
    if (spec.group) {
      const groups = [];
      data.rows.forEach((row) => { if (!groups.includes(row[spec.group])) groups.push(row[spec.group]); });
      series = groups.map((group) => ({
        name: String(group), type: "bar", stack: spec.stack ? "total" : undefined,
        data: categories.map((x) => {
          const row = data.rows.find((r) => String(r[spec.x]) === x && r[spec.group] === group);
          return row ? row[spec.value] : 0;
        }),
      }));
    } else {
      series = spec.series.map((s) => ({
        name: label(s.column), type: s.type, stack: spec.stack ? "total" : undefined,
        data: data.rows.map((row) => (typeof row[s.column] === "number" ? row[s.column] : null)),
      }));
    }
    const categoryAxis = { type: "category", data: categories, axisLabel: { hideOverlap: true } };
    const valueAxis = { type: "value", minInterval: 1 };
    if (spec.horizontal) {
      categoryAxis.inverse = true;
      categoryAxis.axisLabel.width = 160;
      categoryAxis.axisLabel.overflow = "truncate";
    }
    return {
      animation: false,
      aria: { enabled: true },
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: spec.horizontal ? valueAxis : categoryAxis,
      yAxis: spec.horizontal ? categoryAxis : valueAxis,
      series,
    };
  }

  function draw() {
    if (!window.echarts) return;
    const charts = [];
    document.querySelectorAll(".chart[data-chart]").forEach((el) => {
      const table = document.getElementById(el.dataset.table);
      if (!table) return;
      const spec = JSON.parse(el.dataset.chart);
      const data = readTable(table);
      if (spec.horizontal) el.style.height = `${Math.max(200, 28 * data.rows.length + 60)}px`;
      const chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(spec, data));
      charts.push(chart);
      if (window.ResizeObserver) new ResizeObserver(() => chart.resize()).observe(el);
    });
    const resize = () => charts.forEach((chart) => chart.resize());
    window.addEventListener("resize", resize);
    window.addEventListener("beforeprint", resize);
    window.addEventListener("afterprint", resize);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
