/* greenpark dashboard: one shell, one page per URL, charts drawn from the REST API (/api/v1).
   Works offline: ECharts is served from /static/vendor. Labels in Chinese or English (GP_LABELS). */
(function () {
  "use strict";
  const API = "/api/v1";
  const L = window.GP_LABELS;
  let lang = localStorage.getItem("gp.lang") || "zh";
  let me = null;
  let csrf = null;
  let charts = [];

  // -- helpers ------------------------------------------------------------------------------------
  const t = (k) => (L[k] ? L[k][lang === "zh" ? 0 : 1] : k);
  const nm = (o) => (o ? (lang === "zh" ? o.name_zh || o.name_en : o.name_en || o.name_zh) || o.id : "");
  const $ = (sel) => document.querySelector(sel);

  // -- the catalogue of codes (GET /api/v1/catalogue): zh/en labels of carrier, industry, reason,
  //    finding, unit, statistic, metric... codes; a code the catalogue does not know shows as itself
  let CAT = null;
  const PLACEHOLDER_KIND = { pollutant: "pollutant", averaging: "averaging" };
  async function loadCatalogue() {
    if (CAT) return CAT;
    const cat = { exact: {}, patterns: [] };
    try {
      const r = await api("/catalogue");
      for (const e of r.entries) {
        if (e.code.includes("{")) {
          const names = [];
          const rx = e.code.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
            .replace(/\\\{(\w+)\\\}/g, (m, n) => { names.push(n); return "([A-Za-z0-9-]+)"; });
          cat.patterns.push({ kind: e.kind, rx: new RegExp("^" + rx + "$"), names, zh: e.zh, en: e.en });
        } else {
          (cat.exact[e.kind] = cat.exact[e.kind] || {})[e.code] = e;
        }
      }
    } catch (x) { /* labels fall back to the codes */ }
    CAT = cat;
    return CAT;
  }
  /** The label of a code in the current language (the code itself when unknown). */
  function lab(kind, code) {
    if (code === null || code === undefined || code === "") return "—";
    const key = lang === "zh" ? "zh" : "en";
    const hit = CAT && CAT.exact[kind] && CAT.exact[kind][code];
    if (hit) return hit[key];
    for (const p of (CAT ? CAT.patterns : [])) {
      if (p.kind !== kind) continue;
      const m = String(code).match(p.rx);
      if (!m) continue;
      let text = p[key];
      p.names.forEach((n, i) => { text = text.replace("{" + n + "}", PLACEHOLDER_KIND[n] ? lab(PLACEHOLDER_KIND[n], m[i + 1]) : m[i + 1]); });
      return text;
    }
    return String(code);
  }
  /** A label with its code as tooltip (the code stays findable, the page shows words). */
  const labEl = (kind, code, cls) => el("span", { class: cls || null, title: code, text: lab(kind, code) });
  /** "1 meter incomplete" / "3 meters incomplete" / "1 个计量表不完整". */
  const countOf = (n, key) => `${n} ${n === 1 && L[key + "_one"] ? t(key + "_one") : t(key)}`;
  /** "tp(0.5);cod(0.2)" -> "总磷（0.5倍）；化学需氧量（0.2倍）" */
  function exceeding(text) {
    if (!text) return "—";
    return String(text).split(";").map((it) => {
      const m = it.match(/^([^()]+)(?:\(([^)]*)\))?$/);
      if (!m) return it;
      return lab("parameter", m[1]) + (m[2] !== undefined ? (lang === "zh" ? `（${m[2]}倍）` : ` (×${m[2]})`) : "");
    }).join(lang === "zh" ? "；" : "; ");
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function num(x, digits = 2) {
    if (x === null || x === undefined || Number.isNaN(x)) return "—";
    return Number(x).toLocaleString(lang === "zh" ? "zh-CN" : "en-US", {
      minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  const pct = (x, d = 2) => (x === null || x === undefined ? "—" : num(100 * x, d) + " %");

  class ApiError extends Error {
    constructor(status, err) { super(err.message); this.status = status; this.code = err.code; }
  }

  async function api(path, opts = {}) {
    const o = { credentials: "same-origin", headers: {}, ...opts };
    if (o.method && o.method !== "GET" && csrf) o.headers["X-CSRF-Token"] = csrf;
    if (o.json !== undefined) {
      o.body = JSON.stringify(o.json);
      o.headers["Content-Type"] = "application/json";
      delete o.json;
    }
    const r = await fetch(API + path, o);
    if (r.status === 401 && location.pathname !== "/login") {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new ApiError(401, { message: "login required" });
    }
    if (r.status === 204) return null;
    const body = (r.headers.get("content-type") || "").startsWith("application/json") ? await r.json() : await r.text();
    if (!r.ok) throw new ApiError(r.status, body.error || { message: String(body) });
    return body;
  }

  function kpi(label, value, unit) {
    return el("div", { class: "kpi" }, el("div", { class: "label", text: label }),
      el("div", { class: "value" }, value, unit ? el("span", { class: "unit", text: unit }) : null));
  }

  function card(title, body, wide) {
    return el("section", { class: "card" + (wide ? " wide" : "") }, el("h2", { text: title }), body);
  }

  /** An ECharts chart in ``box``; ``points`` = data points drawn (the tests read data-points). */
  function chart(box, option, points) {
    const c = echarts.init(box, null, { renderer: "canvas" });
    c.setOption({ animation: false, textStyle: { fontFamily: getComputedStyle(document.body).fontFamily }, ...option });
    box.dataset.points = String(points);
    box.dataset.ready = "1";
    charts.push(c);
    return c;
  }

  function table(cols, rows, opts = {}) {
    const head = el("tr", {}, cols.map((c) => el("th", { class: c.num ? "num" : null, text: c.label })));
    const body = rows.length ? rows.map((r) => el("tr", {}, cols.map((c) => {
      const v = c.render ? c.render(r) : r[c.key];
      return el("td", { class: c.num ? "num" : null }, v instanceof Node ? v : (v === null || v === undefined ? "—" : String(v)));
    }))) : [el("tr", { class: "empty" }, el("td", { colspan: String(cols.length), class: "muted", text: t("none") }))];
    const tbl = el("table", {}, el("thead", {}, head), el("tbody", {}, body));
    return opts.scroll === false ? tbl : el("div", { class: "scroll" }, tbl);
  }

  function showError(err) {
    const head = err.status === 403 ? t("forbidden") : (err.code ? lab("error", err.code) : "");
    const msg = head && head !== err.code ? `${head}${lang === "zh" ? "：" : ": "}${err.message}` : err.message;
    return el("div", { class: "error", role: "alert", "data-code": err.code || null, text: msg });
  }

  function params() { return new URLSearchParams(location.search); }

  function periodSelect(years, current, onchange) {
    const s = el("select", { id: "period", onchange: (e) => onchange(e.target.value) },
      years.map((y) => el("option", { value: String(y), selected: String(y) === String(current) }, String(y))));
    return el("label", {}, t("period") + " ", s);
  }

  async function parkInfo() {
    if (!parkInfo.cache) parkInfo.cache = await api("/park");
    return parkInfo.cache;
  }

  function setPeriod(p) {
    const q = params();
    q.set("period", p);
    history.replaceState(null, "", location.pathname + "?" + q.toString());
    render();
  }

  // -- pages ---------------------------------------------------------------------------------------
  async function pageLogin(main) {
    const err = el("div");
    const form = el("form", { class: "login", id: "login-form" },
      el("h2", { text: t("login_title") }),
      el("label", { for: "username", text: t("username") }), el("input", { id: "username", name: "username", autocomplete: "username", required: true }),
      el("label", { for: "password", text: t("password") }), el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
      el("button", { class: "btn", type: "submit", text: t("login") }), err);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      err.replaceChildren();
      try {
        const r = await api("/auth/login", { method: "POST", json: { username: $("#username").value, password: $("#password").value } });
        csrf = r.csrf_token;
        location.href = sameOriginPath(params().get("next"), location.origin) || home(r.user);
      } catch (x) {
        err.append(el("div", { class: "error", role: "alert", text: `${t("login_failed")}: ${x.message}` }));
      }
    });
    main.replaceChildren(form);
  }

  // The path of a ?next= value when it stays on this origin, else null. Browsers read "\\" as "/" and
  // drop tabs and newlines, so "/\\host" or "/%09/host" would leave the site: resolve like the browser.
  function sameOriginPath(next, origin) {
    if (!next || !next.startsWith("/")) return null;
    let u;
    try { u = new URL(next, origin); } catch (_) { return null; }
    return u.origin === origin ? u.pathname + u.search + u.hash : null;
  }

  function home(user) {
    if (user.role === "enterprise") return "/enterprises/" + encodeURIComponent(user.enterprise_id);
    return "/";
  }

  /** Download links of a report (greenpark.reports) in the three formats, in the dashboard's language. */
  function reportLinks(kind, query, what) {
    const q = new URLSearchParams(query);
    q.set("lang", lang === "zh" ? "zh" : "en");
    return el("span", { class: "report-links", "data-report": kind }, `${t(what)}: `,
      ...["html", "pdf", "xlsx"].flatMap((f, i) => {
        q.set("format", f);
        const a = el("a", { href: `${API}/reports/${kind}?${q}`, download: "", text: f.toUpperCase() });
        return i ? [" · ", a] : [a];
      }));
  }

  async function pageOverview(main) {
    const park = await parkInfo();
    const period = params().get("period") || String(park.years[park.years.length - 1] || new Date().getFullYear());
    const ov = await api("/overview?period=" + encodeURIComponent(period));
    const p = ov.park;
    main.replaceChildren(
      el("h1", {}, nm(park), el("small", { text: `${t("overview")} · ${ov.period.label}` })),
      el("div", { class: "toolbar" }, periodSelect(park.years.length ? park.years : [period], period, setPeriod),
        reportLinks("park", { period }, "report_park")),
      el("div", { class: "kpis" },
        kpi(t("tce"), num(p.tce, 1), t("tce_unit")),
        kpi(t("tce_equal"), num(p.tce_equal_value, 1), t("tce_unit")),
        kpi(t("renewable_share"), pct(p.renewable_share)),
        kpi(t("electricity"), num(p.electricity_kwh / 1e4, 1), t("wan_kwh")),
        kpi(t("completeness"), ov.completeness.pct === null ? "—" : num(ov.completeness.pct, 2) + " %",
          countOf(ov.completeness.meters_incomplete, "meters_incomplete")),
        kpi(t("intensity_va"), num((p.intensity || {}).tce_per_10k_cny_value_added, 4)),
        el("div", { class: "kpi", id: "kpi-co2" }, el("div", { class: "label", text: t("co2_location") }), el("div", { class: "value", text: "…" }))),
      el("div", { class: "grid" },
        card(t("by_month_co2"), el("div", { class: "chart", id: "chart-month" })),
        card(t("by_carrier"), el("div", { class: "chart", id: "chart-carrier" })),
        card(t("by_enterprise"), el("div", { class: "chart tall", id: "chart-enterprise" })),
        card(t("completeness_by_ent"), el("div", { class: "chart tall", id: "chart-completeness" })),
        card(t("targets"), targetsTable(ov.targets, entityNames(park, ov.by_enterprise)), true),
        card(t("flags"), el("div", { id: "overview-flags" }, Object.keys(ov.flags).length
          ? Object.entries(ov.flags).map(([k, v]) => el("span", { class: "tag warn", style: "margin:2px", title: k }, `${lab("finding", k)} × ${v}`))
          : t("flags_none"), el("p", { class: "muted", text: t("lineage_note") })), true)));
    const cm = chart($("#chart-month"), monthOption(ov.by_month), ov.by_month.length);
    await addCarbon(cm, $("#chart-month"), ov.by_month, period, null, $("#kpi-co2"));
    const carriers = ov.by_carrier.filter((c) => c.counted_in_total && c.tce > 0);
    chart($("#chart-carrier"), {
      tooltip: { trigger: "item", formatter: `{b}: {c} ${t("tce_unit")} ({d}%)` }, legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ["35%", "65%"], label: { formatter: "{b}\n{d}%" },
        data: carriers.map((c) => ({ name: nm(c), value: +c.tce.toFixed(2) })) }],
    }, carriers.length);
    const top = ov.by_enterprise.slice(0, 15).reverse();
    const ce = chart($("#chart-enterprise"), {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, grid: { left: 150, right: 30, top: 10, bottom: 30 },
      xAxis: { type: "value", name: t("tce_unit") }, yAxis: { type: "category", data: top.map((e) => nm(e)) },
      series: [{ type: "bar", data: top.map((e) => ({ value: +e.tce.toFixed(2), id: e.id })), itemStyle: { color: "#2e86c1" } }],
    }, top.length);
    ce.on("click", (x) => { if (x.data && x.data.id) location.href = "/enterprises/" + encodeURIComponent(x.data.id); });
    const low = ov.by_enterprise.filter((e) => e.completeness_pct !== null)
      .sort((a, b) => a.completeness_pct - b.completeness_pct).slice(0, 15).reverse();
    chart($("#chart-completeness"), {
      tooltip: { trigger: "axis" }, grid: { left: 150, right: 30, top: 10, bottom: 30 },
      xAxis: { type: "value", min: (v) => Math.max(0, Math.floor(v.min - 1)), max: 100, name: "%" },
      yAxis: { type: "category", data: low.map((e) => nm(e)) },
      series: [{ type: "bar", data: low.map((e) => e.completeness_pct), itemStyle: { color: "#d68910" } }],
    }, low.length);
  }

  /** id -> {name_zh, name_en} of the park and its enterprises (targets are shown by name). */
  function entityNames(park, enterprises) {
    const out = { [park.id]: park };
    for (const e of enterprises || []) out[e.id] = e;
    return out;
  }

  function targetsTable(tg, names) {
    if (!tg) return el("p", { class: "muted", text: t("no_targets") });
    if (tg.error) return el("div", { class: "error", text: tg.error });
    return table([
      { label: t("target_entity"), render: (r) => el("span", { title: r.entity_id, text: names && names[r.entity_id] ? nm(names[r.entity_id]) : r.entity_id }) },
      { label: t("metric"), render: (r) => (lang === "zh" ? `${lab("metric", r.metric)}（${lab("unit", r.unit)}）` : `${lab("metric", r.metric)} [${lab("unit", r.unit)}]`) },
      { label: t("cap"), num: true, render: (r) => num(r.cap, 2) }, { label: t("to_date"), num: true, render: (r) => num(r.to_date, 2) },
      { label: t("projection"), num: true, render: (r) => num(r.projection, 2) },
      { label: t("margin"), num: true, render: (r) => (r.margin_pct === null ? "—" : num(r.margin_pct, 1) + " %") },
      { label: t("status"), render: (r) => el("span", { class: "tag status-" + r.status, text: t(r.status) }) },
    ], tg.targets);
  }

  function monthOption(months) {
    return {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 60, right: 70, top: 40, bottom: 30 },
      xAxis: { type: "category", data: months.map((m) => m.month) },
      yAxis: [{ type: "value", name: t("tce_unit") }, { type: "value", name: "tCO₂", splitLine: { show: false } }],
      series: [{ id: "energy", type: "bar", name: t("tce"), data: months.map((m) => +m.tce.toFixed(3)), itemStyle: { color: "#1b7f5a" } }],
    };
  }

  /** CO2 by month (location- and market-based) as lines on the energy chart, when the period is a year. */
  async function addCarbon(c, box, months, period, enterprise, kpiBox) {
    if (!/^\d{4}$/.test(String(period))) { if (kpiBox) kpiBox.remove(); return; }
    try {
      const q = `/carbon?period=${period}` + (enterprise ? `&enterprise=${encodeURIComponent(enterprise)}` : "");
      const cb = await api(q);
      const byMonth = {};
      for (const r of cb.by_month || []) byMonth[r.month] = r;
      const line = (k) => months.map((m) => (byMonth[m.month] && byMonth[m.month][k] !== undefined ? +byMonth[m.month][k].toFixed(2) : null));
      c.setOption({ series: [
        { id: "co2-location", type: "line", name: t("co2_location"), yAxisIndex: 1, data: line("location_t"), itemStyle: { color: "#c0392b" } },
        { id: "co2-market", type: "line", name: t("co2_market"), yAxisIndex: 1, data: line("market_t"), lineStyle: { type: "dashed" }, itemStyle: { color: "#8e44ad" } }] });
      box.dataset.carbonPoints = String((cb.by_month || []).length);
      if (kpiBox) {
        const f = enterprise ? (cb.enterprises || [])[0] : cb.park;
        // whether the year shown is published (carbon publication is explicit: POST /carbon/publish)
        const pub = ((cb.lineage || {}).published || {}).status;
        kpiBox.querySelector(".value").replaceChildren(num(f ? f.total_location_t : null, 1), el("span", { class: "unit", text: "tCO₂" }),
          ...(pub ? [el("div", { class: "unit", id: "co2-published", "data-status": pub, text: lab("status", pub) })] : []));
      }
    } catch (x) {
      box.dataset.carbonPoints = "0";
      if (kpiBox) kpiBox.querySelector(".value").textContent = "—";
    }
  }

  async function pageEnterprise(main, id) {
    const park = await parkInfo();
    const period = params().get("period") || String(park.years[park.years.length - 1] || new Date().getFullYear());
    const [ent, en] = await Promise.all([api("/enterprises/" + encodeURIComponent(id)),
      api(`/energy?period=${encodeURIComponent(period)}&enterprise=${encodeURIComponent(id)}`)]);
    const e = en.enterprises[0] || { tce: 0, carriers: [] };
    const comp = {};
    for (const m of en.lineage.meters) comp[m.meter_id] = m;
    const carbonBox = el("div", { id: "carbon-box" }, el("span", { class: "muted", text: t("loading") }));
    main.replaceChildren(
      el("h1", {}, nm(ent), el("small", { text: `${ent.id} · ${t("industry")}: ${lab("industry", ent.industry)} · ${en.period.label}` })),
      el("div", { class: "toolbar" }, periodSelect(park.years.length ? park.years : [period], period, setPeriod),
        reportLinks("enterprise", { id, period }, "report_enterprise"), " ",
        reportLinks("carbon", { id, period }, "report_carbon")),
      el("div", { class: "kpis" },
        kpi(t("tce"), num(e.tce, 2), t("tce_unit")), kpi(t("tce_equal"), num(e.tce_equal_value, 2), t("tce_unit")),
        kpi(t("renewable_share"), pct(e.renewable_share)), kpi(t("electricity"), num((e.electricity_kwh || 0) / 1e4, 2), t("wan_kwh")),
        kpi(t("intensity_va"), num((e.intensity || {}).tce_per_10k_cny_value_added, 4))),
      el("div", { class: "grid" },
        card(t("by_month_co2"), el("div", { class: "chart", id: "chart-ent-month" })),
        card(t("by_carrier"), el("div", { class: "chart", id: "chart-ent-carrier" })),
        card(t("end_use"), el("div", { class: "chart", id: "chart-ent-enduse" })),
        card(t("carbon"), carbonBox),
        card(t("meter_list"), table([
          { label: t("meter"), render: (m) => el("a", { href: "/meters/" + encodeURIComponent(m.id), text: m.id }) },
          { label: t("carrier"), render: (m) => labEl("carrier", m.carrier) }, { label: t("unit"), render: (m) => labEl("unit", m.unit) },
          { label: t("role"), render: (m) => labEl("meter_role", (comp[m.id] || {}).role) },
          { label: t("quantity"), num: true, render: (m) => num((comp[m.id] || {}).quantity, 1) },
          { label: t("readings"), num: true, render: (m) => num(m.readings, 0) },
          { label: t("completeness"), num: true, render: (m) => { const c = (comp[m.id] || {}).completeness_pct; return c === null || c === undefined ? "—" : num(c, 2) + " %"; } },
        ], ent.meter_list), true)));
    const months = en.breakdowns.month;
    const cm = chart($("#chart-ent-month"), monthOption(months), months.length);
    await addCarbon(cm, $("#chart-ent-month"), months, period, id, null);
    const cs = e.carriers.filter((c) => c.counted_in_total && c.tce > 0);
    chart($("#chart-ent-carrier"), {
      tooltip: { trigger: "item", formatter: `{b}: {c} ${t("tce_unit")} ({d}%)` }, legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], label: { formatter: "{b}\n{d}%" },
        data: cs.map((c) => ({ name: nm(c), value: +c.tce.toFixed(3) })) }],
    }, cs.length);
    const eu = en.breakdowns.end_use.filter((r) => r.quantity > 0 && r.tce !== null);
    chart($("#chart-ent-enduse"), {
      tooltip: { trigger: "axis" }, grid: { left: 160, right: 30, top: 10, bottom: 30 },
      xAxis: { type: "value", name: t("tce_unit") }, yAxis: { type: "category", data: eu.map((r) => `${lab("end_use", r.end_use)} (${lab("carrier", r.carrier)})`) },
      series: [{ type: "bar", data: eu.map((r) => +r.tce.toFixed(3)), itemStyle: { color: "#2e86c1" } }],
    }, eu.length);
    try {
      const c = await api(`/carbon?period=${encodeURIComponent(period.slice(0, 4))}&enterprise=${encodeURIComponent(id)}`);
      const f = (c.enterprises || [])[0];
      carbonBox.replaceChildren(f ? el("div", { class: "kpis" },
        kpi(t("scope1"), num(f.scope1_t, 1), "tCO₂"), kpi(t("scope2_location"), num(f.scope2_location_t, 1), "tCO₂"),
        kpi(t("scope2_market"), num(f.scope2_market_t, 1), "tCO₂")) : t("no_data"));
    } catch (x) {
      carbonBox.replaceChildren(el("p", { class: "muted", text: x.code ? `${lab("error", x.code)}${lang === "zh" ? "：" : ": "}${x.message}` : x.message }));
    }
  }

  async function pageMeter(main, id) {
    const m = await api("/meters/" + encodeURIComponent(id));
    const res = params().get("resolution") || "hour";
    const [rd, q] = await Promise.all([api(`/readings?meter=${encodeURIComponent(id)}&resolution=${res}&limit=200000`),
      api(`/meters/${encodeURIComponent(id)}/quality`)]);
    const sel = el("select", { id: "resolution", onchange: (e) => { const p = params(); p.set("resolution", e.target.value); history.replaceState(null, "", "?" + p); render(); } },
      ["hour", "day"].map((r) => el("option", { value: r, selected: r === res, text: t(r) })));
    main.replaceChildren(
      el("h1", {}, m.id, el("small", {}, `${t("owner")}: `, el("a", { href: "/enterprises/" + encodeURIComponent(m.owner), text: m.owner }),
        ` · ${lab("carrier", m.carrier)} · ${lab("unit", m.unit)} · ${lab("meter_kind", m.kind)} · ${t("interval")}: ${m.interval_minutes}` + (m.parent ? ` · ${t("parent")}: ${m.parent}` : ""))),
      el("div", { class: "toolbar" }, el("label", {}, t("resolution") + " ", sel)),
      el("div", { class: "kpis" },
        kpi(t("readings"), num(m.readings, 0)), kpi(t("missing_hours"), num(q.missing_hours, 0), `${q.gap_count} ${t("gaps")}`),
        kpi(t("incomplete_hours"), num(q.incomplete_count, 0)), kpi(t("corrections"), num(q.correction_count, 0)),
        kpi(t("quarantined"), num(q.quarantined_count, 0))),
      el("div", { class: "grid" },
        card(t("timeseries") + ` [${lab("unit", m.unit)}]`, el("div", { class: "chart tall", id: "chart-series" }), true),
        card(t("corrections"), table([{ label: t("time"), key: "time" }, { label: t("old_value"), key: "old_value", num: true },
          { label: t("new_value"), key: "new_value", num: true }], q.corrections)),
        card(t("quarantined"), table([{ label: t("reason"), render: (r) => labEl("reason", r.reason) }, { label: t("detail"), key: "detail" },
          { label: t("raw"), key: "raw" }], q.quarantined)),
        card(t("gaps"), table([{ label: t("from"), key: "from" }, { label: t("to"), key: "to" }, { label: t("missing_hours"), key: "hours", num: true }], q.gaps))));
    const rows = rd.rows;
    const bad = rows.filter((r) => r.expected !== null && r.n_readings < r.expected);
    const gapAreas = res === "hour" ? q.gaps.map((g) => [{ xAxis: g.from }, { xAxis: g.to }]) : [];
    chart($("#chart-series"), {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 70, right: 30, top: 30, bottom: 80 },
      xAxis: { type: "time" }, yAxis: { type: "value", name: lab("unit", m.unit), scale: true },
      dataZoom: [{ type: "inside", xAxisIndex: 0 }, { type: "slider", xAxisIndex: 0, bottom: 20 }],
      series: [
        { name: t("value"), type: "line", showSymbol: false, sampling: "lttb", lineStyle: { width: 1 },
          data: rows.map((r) => [r.time, r.value]), markArea: gapAreas.length ? { itemStyle: { color: "rgba(192,57,43,0.12)" }, data: gapAreas } : undefined },
        { name: t("incomplete"), type: "scatter", symbolSize: 6, itemStyle: { color: "#c0392b" },
          data: bad.map((r) => [r.time, r.value]) },
      ],
    }, rows.length);
  }

  async function pageMvList(main) {
    const projects = await api("/mv");
    main.replaceChildren(
      el("h1", {}, t("mv"), el("small", { text: t("mv_note") })),
      el("div", { class: "grid" }, card(t("mv_projects") + ` (${projects.length})`, projects.length ? table([
        { label: t("mv_project"), render: (p) => el("a", { href: "/mv/" + encodeURIComponent(p.id), text: p.id }) },
        { label: t("name"), render: (p) => nm(p) }, { label: t("enterprise"), key: "enterprise" },
        { label: t("mv_option"), key: "option" }, { label: t("meters"), render: (p) => (p.meters || []).join(", ") },
        { label: t("baseline_period"), render: (p) => `${p.baseline.start} – ${p.baseline.end}` },
        { label: t("reporting_period"), render: (p) => `${p.reporting.start} – ${p.reporting.end}` },
        { label: t("designed_saving"), num: true, render: (p) => (p.designed_saving ? `${num(p.designed_saving.value, 0)} ${p.designed_saving.unit}/${p.designed_saving.per}` : "—") },
      ], projects) : el("p", { class: "muted", text: t("no_mv") }), true)));
  }

  async function pageMvProject(main, id) {
    const [r, se] = await Promise.all([api("/mv/" + encodeURIComponent(id)), api(`/mv/${encodeURIComponent(id)}/series?step=week`)]);
    const p = r.project;
    const s = r.savings || {};
    const u = s.uncertainty || {};
    const d = s.designed;
    const conf = u.confidence ? ` (${num(100 * u.confidence, 0)} %)` : "";
    const pm = (v, e, digits) => (v === null || v === undefined ? "—" : `${num(v, digits)} ± ${num(e, digits)}`);
    const verdict = el("span", { id: "mv-verdict", class: "tag " + (r.verdict.fit ? "status-on_track" : "bad"),
      text: r.verdict.fit ? t("mv_fit") : t("mv_not_fit") });
    main.replaceChildren(
      el("h1", {}, nm(p), el("small", {}, el("a", { href: "/mv", text: t("mv") }),
        ` · ${p.id} · ${t("enterprise")}: ${p.enterprise || "—"} · IPMVP ${t("mv_option")} ${p.option} · ${t("mv_model")}: ${lab("mv_model", r.model.kind)} (${lab("mv_model", p.model_used)})`)),
      el("div", { class: "toolbar" }, reportLinks("mv", { id: p.id }, "report_mv")),
      el("div", { class: "kpis", id: "mv-kpis" },
        kpi(t("mv_savings") + conf, pm(s.energy, u.absolute, 0), s.unit),
        kpi(t("mv_fraction"), pct(s.fraction, 1)),
        kpi(t("mv_savings_tce"), pm((s.tce || {}).value, (s.tce || {}).uncertainty, 1), "tce"),
        kpi(t("mv_savings_co2"), pm((s.tco2 || {}).value, (s.tco2 || {}).uncertainty, 1), "tCO₂"),
        kpi(t("designed_saving"), d ? num(d.for_reporting_period, 0) : "—", d ? `${d.unit} · ${d.within_uncertainty ? t("mv_within") : t("mv_outside")}` : ""),
        el("div", { class: "kpi" }, el("div", { class: "label", text: t("mv_verdict") }), el("div", { class: "value" }, verdict))),
      el("div", { class: "grid" },
        card(t("mv_chart") + ` [${se.unit}]`, el("div", { class: "chart tall", id: "chart-mv" }), true),
        card(t("mv_metrics"), table([{ label: t("metric"), key: "k" }, { label: t("value"), key: "v", num: true }], [
          { k: "CV(RMSE)", v: pct(r.metrics.cvrmse, 2) }, { k: "NMBE", v: pct(r.metrics.nmbe, 3) },
          { k: "R²", v: num(r.metrics.r2, 4) }, { k: t("mv_fsu") + conf, v: pct(u.fsu, 2) },
          { k: t("mv_adjusted_baseline"), v: `${num(s.adjusted_baseline, 0)} ${s.unit || ""}` },
          { k: t("mv_actual"), v: `${num(s.reporting, 0)} ${s.unit || ""}` },
          { k: t("mv_adjustments"), v: `${num((s.adjustments || {}).total, 0)} ${s.unit || ""}` }], { scroll: false })),
        card(t("mv_criteria"), table([{ label: t("mv_criterion"), key: "id" }, { label: t("limit"), num: true, render: (c) => pct(c.value, 2) },
          { label: t("status"), render: (c) => labEl("status", c.status) }, { label: t("detail"), key: "note" }], r.verdict.criteria)),
        card(t("flags"), table([{ label: t("level"), render: (f) => labEl("severity", f.severity, "tag " + (f.severity === "info" ? "" : "warn")) },
          { label: t("mv_code"), render: (f) => labEl("finding", f.code) }, { label: t("detail"), key: "message" }], r.flags), true)));
    const rows = se.rows;
    const ser = (phase, k) => rows.filter((x) => x.phase === phase).map((x) => [x.date, +x[k].toFixed(1)]);
    chart($("#chart-mv"), {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 80, right: 30, top: 40, bottom: 80 },
      xAxis: { type: "time" }, yAxis: { type: "value", name: se.unit, scale: true },
      dataZoom: [{ type: "inside", xAxisIndex: 0 }, { type: "slider", xAxisIndex: 0, bottom: 20 }],
      series: [
        { name: t("mv_actual"), type: "line", showSymbol: false, data: ser("baseline", "actual").concat([[se.reporting_start, null]], ser("reporting", "actual")),
          itemStyle: { color: "#424949" }, lineStyle: { width: 1.5 } },
        { name: t("mv_baseline_fit"), type: "line", showSymbol: false, data: ser("baseline", "predicted"), itemStyle: { color: "#2e86c1" }, lineStyle: { type: "dashed" } },
        { name: t("mv_adjusted_baseline"), type: "line", showSymbol: false, data: ser("reporting", "predicted"), itemStyle: { color: "#e67e22" }, lineStyle: { width: 2 },
          markLine: { symbol: "none", label: { formatter: t("mv_retrofit") }, lineStyle: { color: "#c0392b", type: "dotted" }, data: [{ xAxis: se.reporting_start }] } },
      ],
    }, rows.length);
  }

  async function pageAir(main) {
    const park = await parkInfo();
    const period = params().get("period") || String(park.years[park.years.length - 1] || new Date().getFullYear());
    const a = await api("/air?period=" + encodeURIComponent(period));
    const yes = (v) => (v === true ? t("yes") : v === false ? t("no") : "—");
    main.replaceChildren(
      el("h1", {}, t("air"), el("small", { text: `${a.period} · ${a.edition.evaluation}` })),
      el("div", { class: "toolbar" }, periodSelect(park.years.length ? park.years : [period], period, setPeriod)),
      el("div", { class: "kpis" },
        kpi(t("pm25"), num(a.pm25_annual_mean, 1), "µg/m³"), kpi(t("good_days"), num(a.good_days_ratio, 1) + " %"),
        kpi(t("heavy_days"), num(a.heavy_pollution_days_ratio, 1) + " %"), kpi(t("valid_days"), num(a.valid_days, 0)),
        kpi(t("composite"), num(a.composite_index, 2)), kpi(t("attainment"), yes(a.attainment))),
      el("div", { class: "grid" },
        card(t("aqi_calendar"), el("div", { class: "chart cal", id: "chart-aqi" }), true),
        card(t("stations"), table([{ label: t("station"), key: "id" }, { label: t("pm25"), key: "pm25_annual_mean", num: true },
          { label: t("good_days"), key: "good_days_ratio", num: true }, { label: t("valid_days"), key: "valid_days", num: true },
          { label: t("composite"), key: "composite_index", num: true }], a.stations)),
        card(t("statistics"), table([{ label: t("pollutant"), render: (s) => labEl("pollutant", s.pollutant) },
          { label: t("statistic"), render: (s) => labEl("statistic", s.statistic) },
          { label: t("value"), num: true, render: (s) => `${s.value === null ? "—" : s.value} ${lab("unit", s.unit)}` }, { label: t("limit"), key: "limit", num: true },
          { label: t("attains"), render: (s) => yes(s.attains) }], a.statistics))));
    const days = a.daily_aqi.filter((d) => d.aqi !== null);
    const year = String(a.period).slice(0, 4);
    const edition = (a.edition.daily_aqi && Object.keys(a.edition.daily_aqi)[0] || "").replace(/\D+/g, "").slice(-4) || "2012";
    const lv = a.levels.filter((x) => x.edition === edition);
    const range = String(a.period).length > 4 ? String(a.period) : year;
    chart($("#chart-aqi"), {
      tooltip: { formatter: (x) => `${x.value[0]}: AQI ${x.value[1]}` },
      visualMap: { type: "piecewise", dimension: 2, orient: "horizontal", left: "center", bottom: 0,
        pieces: lv.map((x) => ({ value: x.level, color: x.rgb_hex, label: `${lang === "zh" ? x.category_zh : x.category_en} (${x.aqi_lo}–${x.aqi_hi})` })) },
      calendar: { range: range, top: 30, left: 40, right: 20, cellSize: ["auto", 16], yearLabel: { show: false },
        dayLabel: { nameMap: lang === "zh" ? "ZH" : "EN" }, monthLabel: { nameMap: lang === "zh" ? "ZH" : "EN" } },
      series: [{ type: "heatmap", coordinateSystem: "calendar", data: days.map((d) => [d.date, d.aqi, d.level]) }],
    }, days.length);
  }

  const CLASS_COLOURS = { 1: "#5dade2", 2: "#2e86c1", 3: "#27ae60", 4: "#f4d03f", 5: "#e67e22", 6: "#c0392b" };

  async function pageWater(main) {
    const park = await parkInfo();
    const period = params().get("period") || String(park.years[park.years.length - 1] || new Date().getFullYear());
    const w = await api("/water?period=" + encodeURIComponent(period));
    const names = {};
    for (const s of park.stations) names[s.id] = s;
    main.replaceChildren(
      el("h1", {}, t("water"), el("small", { text: `${w.period} · ${w.standard}` })),
      el("div", { class: "toolbar" }, periodSelect(park.years.length ? park.years : [period], period, setPeriod)),
      el("div", { class: "kpis" }, kpi(t("share_good_water"), num(w.good_share_pct, 1) + " %"), kpi(t("section"), num(w.sections.length, 0))),
      el("div", { class: "grid" },
        card(t("water_classes"), el("div", { class: "chart", id: "chart-water" })),
        card(t("section"), table([{ label: t("section"), render: (s) => `${s.section_id} ${nm(names[s.section_id])}` },
          { label: t("water_body"), render: (s) => labEl("water_body", s.water_body) }, { label: t("samples"), key: "n_samples", num: true },
          { label: t("class"), render: (s) => el("span", { class: "tag", style: `background:${CLASS_COLOURS[s.class] || "#ccc"};color:#fff`, text: s.class_label }) },
          { label: t("exceeding"), render: (s) => el("span", { title: s.exceeding || "", text: exceeding(s.exceeding) }) }], w.sections))));
    chart($("#chart-water"), {
      tooltip: { trigger: "axis" }, grid: { left: 50, right: 20, top: 20, bottom: 30 },
      xAxis: { type: "category", data: w.sections.map((s) => s.section_id) },
      yAxis: { type: "value", min: 0, max: 6, interval: 1, axisLabel: { formatter: (v) => ["", "I", "II", "III", "IV", "V", "劣V"][v] || "" } },
      series: [{ type: "bar", data: w.sections.map((s) => ({ value: s.class, itemStyle: { color: CLASS_COLOURS[s.class] || "#ccc" } })) }],
    }, w.sections.length);
  }

  async function pageImports(main) {
    const admin = me.role === "park_admin";
    // enterprise users see and fix the quarantined rows of their own meters (the API scopes them)
    const fixer = admin || me.role === "enterprise";
    const q = params();
    const reason = q.get("reason") || "";
    const status = q.get("status") || "open";
    const meter = q.get("meter") || "";
    const filters = `status=${status}` + (reason ? `&reason=${encodeURIComponent(reason)}` : "") + (meter ? `&meter=${encodeURIComponent(meter)}` : "");
    const [imps, qr] = await Promise.all([me.role === "enterprise" ? Promise.resolve(null) : api("/imports?limit=50"),
      api(`/quarantine?${filters}&limit=500`)]);
    const note = el("div", { id: "imports-note" });
    const setq = (k, v) => { const p = params(); if (v) p.set(k, v); else p.delete(k); history.replaceState(null, "", "?" + p); render(); };
    const upload = admin ? el("form", { class: "toolbar", id: "upload-form" }, el("strong", { text: t("upload") }),
      el("input", { type: "file", id: "upload-file", accept: ".csv,.xlsx,.parquet,.txt" }),
      el("button", { class: "btn", type: "submit", text: t("submit") })) : null;
    if (upload) upload.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = $("#upload-file").files[0];
      if (!f) return;
      const fd = new FormData();
      fd.append("file", f);
      try {
        const r = await api("/imports", { method: "POST", body: fd });
        note.replaceChildren(el("div", { class: "notice", text: r.message || `${t("uploaded")}: ${r.source} · ${t("accepted")} ${r.accepted} · ${t("rejected")} ${r.rejected}` }));
        setTimeout(render, 800);
      } catch (x) { note.replaceChildren(showError(x)); }
    });
    const checks = [];
    const cols = [];
    if (fixer && status === "open") cols.push({ label: t("select"), render: (r) => { const c = el("input", { type: "checkbox", "data-key": `${r.import_id}:${r.line_no}` }); checks.push(c); return c; } });
    cols.push({ label: t("import_id"), key: "import_id", num: true }, { label: t("source"), key: "source" }, { label: t("line"), key: "line_no", num: true },
      { label: t("reason"), render: (r) => labEl("reason", r.reason, "tag bad") }, { label: t("detail"), key: "detail" },
      { label: t("meter"), key: "meter_id" }, { label: t("raw"), key: "raw" },
      { label: t("status"), render: (r) => (r.resolution === "superseded" ? `${t("superseded")} → ${r.resolved_by_import}`
        : r.resolved_by_import ? `${t("resolved")} → ${r.resolved_by_import}` : t("open")) });
    if (fixer && status === "open") cols.push({ label: t("fix"), render: (r) => fixButton(r, note) });
    const hidden = status === "open" && qr.by_status && (qr.by_status.superseded || qr.by_status.resolved)
      ? el("p", { class: "muted", id: "quarantine-hidden", text: t("quarantine_hidden").replace("{superseded}", qr.by_status.superseded).replace("{resolved}", qr.by_status.resolved) }) : null;
    const download = el("a", { class: "btn secondary", id: "quarantine-csv", href: `${API}/quarantine?${filters}&format=csv&limit=100000`, download: "quarantine.csv", text: t("export_csv") });
    const fixForm = fixer ? el("form", { class: "toolbar", id: "resubmit-file-form" }, el("strong", { text: t("resubmit_file") }),
      el("input", { type: "file", id: "resubmit-file", accept: ".csv" }),
      el("button", { class: "btn secondary", type: "submit", text: t("submit") })) : null;
    if (fixForm) fixForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = $("#resubmit-file").files[0];
      if (!f) return;
      const fd = new FormData();
      fd.append("file", f);
      try {
        const r = await api("/quarantine/resubmit-file", { method: "POST", body: fd });
        const i = r.import;
        note.replaceChildren(el("div", { class: "notice", text: `${t("done")}: ${r.resolved.length} · ${t("skipped")} ${r.skipped.length}` +
          (i ? ` · import ${i.import_id}: ${t("accepted")} ${i.accepted + i.corrected + i.unchanged}, ${t("rejected")} ${i.rejected}` : "") }));
        setTimeout(render, 800);
      } catch (x) { note.replaceChildren(showError(x)); }
    });
    const resub = fixer && status === "open" ? el("button", { class: "btn secondary", type: "button", id: "resubmit", text: t("resubmit"), onclick: async () => {
      const rows = checks.filter((c) => c.checked).map((c) => { const [i, n] = c.dataset.key.split(":"); return { import_id: +i, line_no: +n }; });
      if (!rows.length) return;
      try {
        const r = await api("/quarantine/resubmit", { method: "POST", json: { rows } });
        note.replaceChildren(el("div", { class: "notice", text: `${t("done")}: ${r.resolved.length} · ` + r.imports.map((i) => `import ${i.import_id}: ${t("accepted")} ${i.accepted}, ${t("rejected")} ${i.rejected}`).join("; ") }));
        setTimeout(render, 800);
      } catch (x) { note.replaceChildren(showError(x)); }
    } }) : null;
    main.replaceChildren(...[
      el("h1", {}, t(imps ? "imports" : "quarantine")), upload, fixForm, note,
      el("div", { class: "grid" },
        card(t("quarantine") + ` (${qr.total})`, el("div", {}, hidden,
          el("div", { class: "toolbar" },
            el("select", { id: "reason", onchange: (e) => setq("reason", e.target.value) }, el("option", { value: "", text: t("all_reasons") }),
              Object.keys(qr.by_reason).concat(reason && !(reason in qr.by_reason) ? [reason] : []).map((k) => el("option", { value: k, selected: k === reason, text: `${lab("reason", k)} (${qr.by_reason[k] || 0})` }))),
            el("select", { id: "status", onchange: (e) => setq("status", e.target.value) },
              ["open", "resolved", "all"].map((k) => el("option", { value: k, selected: k === status, text: t(k) }))),
            el("input", { id: "meter-filter", placeholder: t("meter"), value: meter, onchange: (e) => setq("meter", e.target.value.trim()) }),
            resub, download),
          el("div", { class: "chart", id: "chart-reasons", style: "height:220px" }),
          table(cols, qr.rows)), true),
        imps && card(t("import_list"), table([{ label: t("import_id"), key: "import_id", num: true }, { label: t("source"), key: "source" },
          { label: t("started"), render: (r) => String(r.started_at).slice(0, 19).replace("T", " ") },
          { label: t("rows_read"), key: "rows_read", num: true }, { label: t("accepted"), key: "accepted", num: true },
          { label: t("unchanged"), key: "unchanged", num: true }, { label: t("corrected"), key: "corrected", num: true },
          { label: t("rejected"), key: "rejected", num: true }], imps), true))].filter(Boolean));
    const reasons = Object.entries(qr.by_reason);
    chart($("#chart-reasons"), {
      tooltip: { trigger: "axis" }, grid: { left: 170, right: 30, top: 10, bottom: 25 },
      xAxis: { type: "value" }, yAxis: { type: "category", data: reasons.map((r) => lab("reason", r[0])) },
      series: [{ type: "bar", barMaxWidth: 24, data: reasons.map((r) => r[1]), itemStyle: { color: "#c0392b" } }],
    }, reasons.length);
  }

  function fixButton(r, note) {
    const box = el("div");
    const fields = (r.raw || "").split(",");
    const open = () => {
      const inp = (id, v, ph) => el("input", { name: id, value: v || "", placeholder: ph });
      const form = el("form", { class: "fix-form" }, inp("meter_id", fields[0], "meter_id"), inp("timestamp", fields[1], "timestamp"),
        inp("value", fields[2], "value"), inp("unit", fields[3], "unit"), el("button", { class: "btn", type: "submit", text: t("submit") }));
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const v = (n) => form.elements[n].value.trim();
        const body = { meter_id: v("meter_id"), timestamp: v("timestamp"), value: v("value") === "" ? null : v("value"), unit: v("unit") || null };
        try {
          const x = await api(`/quarantine/${r.import_id}/${r.line_no}/fix`, { method: "POST", json: body });
          const i = x.imports[0];
          note.replaceChildren(el("div", { class: "notice", text: `import ${i.import_id}: ${t("accepted")} ${i.accepted + i.corrected + i.unchanged}, ${t("rejected")} ${i.rejected}` + (i.rejected ? ` (${lab("reason", i.rejected_rows[0].reason)})` : "") }));
          setTimeout(render, 800);
        } catch (x) { note.replaceChildren(showError(x)); }
      });
      box.replaceChildren(form);
    };
    box.append(el("button", { class: "btn secondary", type: "button", text: t("fix"), onclick: open }));
    return box;
  }

  // -- zero-carbon park and green-factory indicators (GET /indicators) ------------------------------
  function verdictTag(v) {
    const cls = v === "pass" ? "tag ok" : v === "fail" ? "tag bad" : "tag warn";
    return el("span", { class: cls, title: v, text: lab("verdict", v) });
  }
  const indVal = (v, unit) => (unit === "1" ? pct(v, 1) : unit === "count" ? (v === null ? "—" : String(v)) : num(v, 4));

  async function pageIndicators(main) {
    const park = await parkInfo();
    const period = params().get("period") || String(park.years[park.years.length - 1] || new Date().getFullYear());
    const ent = params().get("enterprise");
    const d = await api("/indicators?period=" + encodeURIComponent(period) + (ent ? "&enterprise=" + encodeURIComponent(ent) : ""));
    const flags = el("div", { id: "indicator-flags" }, d.flags.length
      ? d.flags.map((f) => el("span", { class: "tag warn", style: "margin:2px", title: f.message }, lab("finding", f.code)))
      : t("flags_none"));
    if (d.enterprise) {
      const e = d.enterprise;
      const s = d.status;
      main.replaceChildren(
        el("h1", {}, nm(e), el("small", { text: `${t("green_factory")} · ${d.period.label}` })),
        el("div", { class: "toolbar" }, periodSelect(park.years.length ? park.years : [period], period, setPeriod)),
        el("div", { class: "kpis" },
          kpi(t("tce"), num(e.energy_tce, 1), t("tce_unit")), kpi(t("energy_band"), lab("energy_band", e.energy_band)),
          kpi(t("gf_status"), s.tier ? `${lab("tier", s.tier)} ${s.year_awarded}` : t("not_awarded"),
            s.reevaluation_due ? `${t("reevaluation_due")} ${s.reevaluation_due}` : ""),
          kpi(t("platform_functions"), `${d.platform.count} / 12`)),
        el("div", { class: "grid" },
          card(t("gf_indicators"), el("div", { id: "gf-table" }, table([
            { label: t("indicator"), render: (r) => labEl("indicator", r.id) },
            { label: t("value"), num: true, render: (r) => indVal(r.value, r.unit) },
            { label: t("unit"), render: (r) => (r.unit === "1" ? "" : lab("unit", r.unit)) },
            { label: t("benchmark"), num: true, render: (r) => indVal(r.benchmark, r.unit) },
            { label: t("leading"), num: true, render: (r) => indVal(r.leading, r.unit) },
            { label: t("meets"), render: (r) => (r.meets_leading ? t("leading") : r.meets_benchmark ? t("benchmark") : r.meets_benchmark === false ? t("no") : "—") },
            { label: t("source"), render: (r) => r.benchmark_source || "—" }], d.indicators)), true),
          card(t("platform_functions"), table([
            { label: t("name"), render: (f) => nm(f) },
            { label: "greenpark", render: (f) => (f.greenpark ? f.greenpark_how : "—") },
            { label: t("declared"), render: (f) => (f.declared ? t("yes") : "—") }], d.platform.functions), true),
          card(t("flags"), flags, true)));
      return;
    }
    const byId = Object.fromEntries(d.indicators.map((i) => [i.id, i]));
    const g = d.programme;
    main.replaceChildren(
      el("h1", {}, nm(park), el("small", { text: `${t("indicators")} · ${d.period.label}` })),
      el("div", { class: "toolbar" }, periodSelect(park.years.length ? park.years : [period], period, setPeriod)),
      el("div", { class: "kpis", id: "indicator-kpis" }, d.indicators.map((i) => el("div", { class: "kpi", "data-indicator": i.id, "data-verdict": i.verdict },
        el("div", { class: "label", text: lab("indicator", i.id) }),
        el("div", { class: "value" }, indVal(i.value, i.unit), i.unit === "1" ? null : el("span", { class: "unit", text: lab("unit", i.unit) })),
        el("div", { class: "muted" }, `${t("threshold")} ${i.direction === "le" ? "≤" : "≥"} ${i.threshold === null ? "—" : indVal(i.threshold, i.unit)} `,
          el("span", { class: "tag", title: i.source || "", text: lab("status", i.threshold_status) }), " ", verdictTag(i.verdict))))),
      el("div", { class: "grid" },
        card(t("indicator_trajectory"), el("div", { class: "chart", id: "chart-indicators" })),
        card(t("programme"), el("div", { id: "programme" },
          g.target ? el("p", { text: `${g.target.achieved} / ${g.target.count} ${lab("tier", g.target.min_tier)}+ · ${g.target.by} (${pct(g.target.progress, 0)})` }) : t("none"),
          table([{ label: "#", num: true, key: "rank" },
            { label: t("enterprise"), render: (c) => nm(g.statuses.find((x) => x.enterprise_id === c.enterprise_id) || { id: c.enterprise_id }) },
            { label: t("met"), render: (c) => `${c.met}/${c.with_benchmark}` },
            { label: t("gaps_named"), render: (c) => c.gaps.slice(0, 2).map((x) => `${lab("indicator", x.indicator)} +${num(100 * x.shortfall, 0)} %`).join("; ") || "—" }],
          g.candidates.slice(0, 10)))),
        card(t("flags"), flags, true)));
    const tr = d.trajectory;
    chart($("#chart-indicators"), {
      tooltip: { trigger: "axis" }, legend: { bottom: 0 }, grid: { left: 50, right: 50, top: 30, bottom: 40 },
      xAxis: { type: "category", data: tr.map((m) => m.month) },
      yAxis: [{ type: "value", name: "tCO₂/tce" }, { type: "value", name: "%", max: 100 }],
      series: [
        { type: "line", name: lab("indicator", "carbon_per_energy"), data: tr.map((m) => m.carbon_per_energy) },
        { type: "bar", yAxisIndex: 1, name: lab("indicator", "clean_energy_share"), data: tr.map((m) => (m.clean_energy_share === null ? null : +(100 * m.clean_energy_share).toFixed(2))) },
        ...(byId.carbon_per_energy.threshold !== null ? [{ type: "line", name: t("threshold"), symbol: "none", lineStyle: { type: "dashed" },
          data: tr.map(() => byId.carbon_per_energy.threshold) }] : []),
      ],
    }, tr.length);
  }

  // -- live sources (issue 11): GET /api/v1/sources, refreshed every 5 s while the page is open -------
  let sourcesTimer = null;
  async function pageSources(main) {
    const d = await api("/sources");
    const head = el("div", { class: "kpis" },
      kpi(t("collector"), d.collector.running ? t("running") : t("not_running")),
      kpi(t("spool_depth"), String(d.spool.depth ?? 0)),
      kpi(t("stored"), String((d.delivery && d.delivery.readings) || 0)));
    const cards = d.sources.map((s) => card(`${s.name} · ${lab("source_type", s.type)}`, el("div", {},
      el("p", { class: "muted", text: `${t("readings_per_min")}: ${s.readings_per_min} · ${t("quarantined")}: ${s.quarantined}` +
        ` · ${t("connected")}: ${s.connected === null ? "—" : s.connected ? "✓" : "✗"}` +
        (s.last_error ? ` · ${t("last_error")}: ${s.last_error}` : "") }),
      table([{ label: t("meter"), render: (m) => el("a", { href: "/meters/" + encodeURIComponent(m.meter_id), text: m.meter_id }) },
        { label: t("last_reading"), key: "last_timestamp" }, { label: t("last_stored"), key: "last_stored" },
        { label: t("readings_per_min"), key: "readings_per_min", num: true }, { label: t("readings"), key: "readings", num: true },
        { label: t("gaps_24h"), key: "gaps_24h", num: true }], s.meters)), true));
    main.replaceChildren(el("h1", {}, t("sources")), head, el("div", { class: "grid" }, cards.length ? cards : [el("p", { class: "muted", text: t("no_sources") })]));
    clearTimeout(sourcesTimer);
    sourcesTimer = setTimeout(() => { if (location.pathname === "/sources") render(); }, 5000);
  }

  // -- shell ---------------------------------------------------------------------------------------
  const ROUTES = [
    [/^\/login$/, pageLogin, "login"], [/^\/$/, pageOverview, "overview"], [/^\/enterprises\/([^/]+)$/, pageEnterprise, "enterprise"],
    [/^\/meters\/([^/]+)$/, pageMeter, "meter"], [/^\/air$/, pageAir, "air"], [/^\/water$/, pageWater, "water"],
    [/^\/imports$/, pageImports, "imports"], [/^\/quarantine$/, pageImports, "quarantine"], [/^\/sources$/, pageSources, "sources"], [/^\/mv$/, pageMvList, "mv"],
    [/^\/mv\/([^/]+)$/, pageMvProject, "mv-project"], [/^\/indicators$/, pageIndicators, "indicators"],
  ];

  function navigation(active) {
    const links = [];
    if (me.role === "park_admin" || me.role === "auditor") links.push(["/", "overview"]);
    if (me.role === "enterprise") links.push(["/enterprises/" + encodeURIComponent(me.enterprise_id), "enterprise"]);
    links.push(["/indicators", "indicators"], ["/mv", "mv"], ["/air", "air"], ["/water", "water"]);
    if (me.role === "park_admin" || me.role === "auditor") links.push(["/imports", "imports"], ["/sources", "sources"]);
    if (me.role === "enterprise") links.push(["/quarantine", "quarantine"]);
    $("#nav").replaceChildren(...links.map(([href, k]) => el("a", { href, class: k === active || (k === "mv" && active === "mv-project") ? "active" : null, text: t(k) })));
    $("#who").textContent = `${me.username} (${lab("role", me.role)}${me.enterprise_id ? " · " + me.enterprise_id : ""})`;
    const lo = $("#logout");
    lo.hidden = false;
    lo.textContent = t("logout");
  }

  async function render() {
    for (const c of charts) c.dispose();
    charts = [];
    document.documentElement.lang = lang === "zh" ? "zh" : "en";
    $("#lang").textContent = lang === "zh" ? "EN" : "中文";
    const main = $("#main");
    const path = decodeURI(location.pathname).replace(/\/+$/, "") || "/";
    const route = ROUTES.find(([re]) => re.test(path));
    if (!route) { main.replaceChildren(showError({ message: path })); return; }
    const [re, page, key] = route;
    document.title = `greenpark · ${t(key)}`;
    main.replaceChildren(el("p", { class: "muted", text: t("loading") }));
    try {
      await loadCatalogue();
      if (key !== "login") {
        if (!me) { const r = await api("/auth/me"); me = r.user; csrf = r.csrf_token; }
        if (me.role === "device") { main.replaceChildren(showError({ message: t("device_no_dashboard") })); return; }
        navigation(key);
        if (key === "overview" && me.role === "enterprise") { location.replace(home(me)); return; }
      }
      await page(main, ...(path.match(re).slice(1).map(decodeURIComponent)));
      main.dataset.page = key;
    } catch (x) {
      if (x.status !== 401) main.replaceChildren(showError(x));
    }
  }

  $("#lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("gp.lang", lang); render(); });
  $("#logout").addEventListener("click", async () => { try { await api("/auth/logout", { method: "POST" }); } finally { location.href = "/login"; } });
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  $("#foot").textContent = "greenpark · GB/T 2589-2020 · HJ 633 / HJ 663 · GB 3838-2002";
  render();
})();
