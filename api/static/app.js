// gridmap web map: MapLibre GL JS drawing the service's own vector tiles.
"use strict";

const ORIGIN = window.location.origin;
const ALL = ["admin", "planner", "street_admin", "community_admin", "grid_leader", "grid_worker", "public"];
const STAFF = ["admin", "planner", "street_admin", "community_admin", "grid_leader", "grid_worker"];
const READERS = ["admin", "planner", "street_admin", "community_admin"];
const MINUTE_CLASSES = [[5, "#1a9850", "≤5 分钟"], [10, "#91cf60", "≤10 分钟"], [15, "#fdae61", "≤15 分钟"], [Infinity, "#d73027", ">15 分钟"]];

// layer id → title, who may see it, whether it is on at first, its style layers, legend
const LAYERS = [
  { id: "communities", title: "社区边界", roles: ALL, on: true,
    styles: [{ type: "line", paint: { "line-color": "#6a3d9a", "line-width": 2, "line-dasharray": [3, 2] } }],
    legend: [["line", "#6a3d9a", "社区边界"]] },
  { id: "grids", title: "网格", roles: STAFF, on: true,
    styles: [{ type: "fill", paint: { "fill-color": "#1f78b4", "fill-opacity": 0.12 } },
             { type: "line", paint: { "line-color": "#1f78b4", "line-width": 1.5 } }],
    legend: [["fill", "#1f78b4", "网格"]] },
  { id: "compounds", title: "小区（按党支部）", roles: STAFF, on: true,
    styles: [{ type: "fill", paint: { "fill-color": ["case", ["has", "branch_id"], "#33a02c", "#e31a1c"], "fill-opacity": 0.25 } },
             { type: "line", paint: { "line-color": "#555", "line-width": 0.8 } }],
    legend: [["fill", "#33a02c", "有党支部的小区"], ["fill", "#e31a1c", "无党支部的小区"]] },
  { id: "buildings", title: "楼栋", roles: STAFF, on: true,
    styles: [{ type: "fill", paint: { "fill-color": "#b0a999", "fill-opacity": 0.7, "fill-outline-color": "#6b655a" } }],
    legend: [["fill", "#b0a999", "楼栋"]] },
  { id: "facilities", title: "服务设施", roles: ALL, on: true,
    styles: [{ type: "circle", paint: { "circle-radius": 5, "circle-color": ["case",
      ["in", "party_service_centre", ["get", "categories"]], "#e31a1c",
      ["in", "elderly_care", ["get", "categories"]], "#ff7f00",
      ["in", "clinic", ["get", "categories"]], "#1f78b4", "#666"], "circle-stroke-color": "#fff", "circle-stroke-width": 1 } }],
    legend: [["dot", "#e31a1c", "党群服务中心"], ["dot", "#ff7f00", "养老"], ["dot", "#1f78b4", "卫生服务"], ["dot", "#666", "其他设施"]] },
  { id: "events", title: "事件（按状态）", roles: STAFF, on: true,
    styles: [{ type: "circle", paint: { "circle-radius": 5, "circle-color": ["match", ["get", "state"],
      ["closed", "duplicate", "not_ours"], "#999", "resolved", "#1a9850", "escalated", "#d73027", "#ff7f00"],
      "circle-stroke-color": "#fff", "circle-stroke-width": 1 } }],
    legend: [["dot", "#ff7f00", "办理中"], ["dot", "#d73027", "已吹哨上报"], ["dot", "#1a9850", "已办结待评价"], ["dot", "#999", "已关闭"]] },
  { id: "needs", title: "群众需求（微心愿/民情清单）", roles: STAFF, on: false,
    styles: [{ type: "circle", paint: { "circle-radius": 4, "circle-color": ["match", ["get", "state"],
      "open", "#e31a1c", "claimed", "#ff7f00", "done", "#1f78b4", "confirmed", "#999", "#ccc"],
      "circle-stroke-color": "#fff", "circle-stroke-width": 1 } }],
    legend: [["dot", "#e31a1c", "待认领"], ["dot", "#ff7f00", "已认领"], ["dot", "#1f78b4", "已办结待确认"], ["dot", "#999", "已确认"]] },
  { id: "org_branches", title: "党组织（按组建方式）", roles: STAFF, on: false, geojson: "/org/map/branches",
    styles: [{ type: "fill", paint: { "fill-color": ["match", ["get", "form"], "single", "#33a02c", "joint", "#1f78b4",
      "embedded", "#ff7f00", "temporary", "#6a3d9a", "#999"], "fill-opacity": 0.35 } },
             { type: "line", paint: { "line-color": "#333", "line-width": 0.8 } }],
    legend: [["fill", "#33a02c", "单独组建"], ["fill", "#1f78b4", "联合党支部"], ["fill", "#ff7f00", "兼合式党支部"], ["fill", "#6a3d9a", "临时党支部"]] },
  { id: "org_sponsored", title: "单位包保小区", roles: STAFF, on: false, geojson: "/org/map/sponsored_compounds",
    styles: [{ type: "line", paint: { "line-color": "#b15928", "line-width": 2.5 } }],
    legend: [["line", "#b15928", "有共建单位包保"]] },
  { id: "org_central", title: "党员中心户", roles: STAFF, on: false, geojson: "/org/map/central_households",
    styles: [{ type: "circle", paint: { "circle-radius": ["+", 3, ["get", "central_households"]], "circle-color": "#d7191c",
      "circle-stroke-color": "#fff", "circle-stroke-width": 1 } }],
    legend: [["dot", "#d7191c", "党员中心户（户数）"]] },
  { id: "event_counts", title: "事件（按网格计数）", roles: ["public"], on: false, geojson: "/events/counts",
    styles: [{ type: "fill", paint: { "fill-color": ["interpolate", ["linear"], ["get", "open"], 0, "#ffffcc", 5, "#fd8d3c", 20, "#bd0026"],
      "fill-opacity": 0.35 } }, { type: "line", paint: { "line-color": "#999", "line-width": 0.6 } }],
    legend: [["fill", "#ffffcc", "无待办事件"], ["fill", "#fd8d3c", "待办 5 件"], ["fill", "#bd0026", "待办 20 件以上"]] },
  { id: "coverage", title: "步行分钟（类别、圈层）", roles: STAFF, on: false, params: true,
    styles: [{ type: "fill", paint: { "fill-color": ["step", ["coalesce", ["get", "minutes"], 999],
      MINUTE_CLASSES[0][1], 5, MINUTE_CLASSES[1][1], 10, MINUTE_CLASSES[2][1], 15, MINUTE_CLASSES[3][1]], "fill-opacity": 0.85 } }],
    legend: MINUTE_CLASSES.map(([, c, t]) => ["fill", c, t]) },
  { id: "gaps", title: "服务空白", roles: READERS, on: false, params: true,
    styles: [{ type: "fill", paint: { "fill-color": "#d73027", "fill-opacity": 0.3 } },
             { type: "line", paint: { "line-color": "#a50026", "line-width": 1.5 } }],
    legend: [["fill", "#d73027", "服务空白"]] },
  { id: "circles", title: "服务圈", roles: READERS, on: false, params: true,
    styles: [{ type: "fill", paint: { "fill-color": "#4575b4", "fill-opacity": 0.12 } },
             { type: "line", paint: { "line-color": "#4575b4", "line-width": 1 } }],
    legend: [["fill", "#4575b4", "服务圈"]] },
  { id: "proposals", title: "选址建议", roles: READERS, on: false,
    styles: [{ type: "circle", paint: { "circle-radius": 8, "circle-color": "#762a83", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } }],
    legend: [["dot", "#762a83", "建议站点"]] },
];

const state = { token: sessionStorage.getItem("gridmap-token"), user: null, config: null, on: {} };

// one signed-in request: { ok, status, body, etag }, whatever the answer (a JSON body is read)
async function request(path, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (options.body !== undefined && !headers["Content-Type"]) headers["Content-Type"] = "application/json";
  const response = await fetch(ORIGIN + path, Object.assign({ cache: "no-store" }, options, { headers }));
  const body = response.status === 204 ? null : await response.json();
  return { ok: response.ok, status: response.status, body, etag: response.headers.get("ETag") };
}

// the detail of an error answer, with the problems it lists
function problemText(body) {
  if (!body) return "";
  return (body.detail || "") + (body.problems ? "：" + body.problems.map((p) => p.message).join("；") : "");
}

// a signed-in request's body; an Error carrying the answer's detail when it failed
async function api(path, options = {}) {
  const answer = await request(path, options);
  if (!answer.ok) throw new Error((answer.body && answer.body.detail) || String(answer.status));
  return answer.body;
}

const map = new maplibregl.Map({
  container: "map",
  style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }] },
  center: [104.08, 30.67],
  zoom: 13,
  maxZoom: 20,
  attributionControl: false,
  fadeDuration: 0, // labels appear at once: a phone draws no frames for their fading in
  transformRequest: (url) => (url.startsWith(ORIGIN) && state.token ? { url, headers: { Authorization: "Bearer " + state.token } } : { url }),
});
map.addControl(new maplibregl.NavigationControl(), "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: "© OpenStreetMap contributors" }));

function role() { return state.user ? state.user.role : "public"; }
function allowed(layer) { return layer.roles.includes(role()); }

function tileUrl(id, params) {
  const query = params ? `?category=${encodeURIComponent(selected("category"))}&level=${selected("level")}` : "";
  return `${ORIGIN}/tiles/${id}/{z}/{x}/{y}${query}`;
}
function selected(id) { return document.getElementById(id).value; }

function removeSource(id) {
  for (const layer of map.getStyle().layers) if (layer.source === id) map.removeLayer(layer.id);
  if (map.getSource(id)) map.removeSource(id);
}

function addSource(id, params, geojson) {
  removeSource(id);
  if (geojson) map.addSource(id, { type: "geojson", data: `${ORIGIN}${geojson}` });
  else map.addSource(id, { type: "vector", tiles: [tileUrl(id, params)], minzoom: 0, maxzoom: 20 });
}

function drawRoads() {
  addSource("roads", false);
  map.addLayer({ id: "roads-line", type: "line", source: "roads", "source-layer": "roads",
    paint: { "line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.6, 17, 4] } });
  map.addLayer({ id: "roads-casing", type: "line", source: "roads", "source-layer": "roads",
    paint: { "line-color": "#c9c2b2", "line-width": 0.4 } }, "roads-line");
}

function drawLayer(layer) {
  if (layer.geojson && !state.on[layer.id]) { removeSource(layer.id); return; }  // fetched when first turned on
  addSource(layer.id, layer.params, layer.geojson);
  layer.styles.forEach((style, i) => {
    const source = layer.geojson ? { source: layer.id } : { source: layer.id, "source-layer": layer.id };
    map.addLayer(Object.assign({ id: `${layer.id}-${style.type}-${i}`, ...source,
      layout: { visibility: state.on[layer.id] ? "visible" : "none" } }, style));
  });
}

function drawAll() {
  for (const layer of LAYERS) removeSource(layer.id);
  removeSource("roads");
  drawRoads();
  for (const layer of LAYERS) {
    if (!allowed(layer)) continue;
    if (!(layer.id in state.on)) state.on[layer.id] = layer.on;
    drawLayer(layer);
  }
  drawSwitcher();
  drawLegend();
}

function setVisible(layer, on) {
  state.on[layer.id] = on;
  if (on && layer.geojson && !map.getSource(layer.id)) drawLayer(layer);
  if (on && layer.params) showRun();
  for (const style of map.getStyle().layers) {
    if (style.source === layer.id) map.setLayoutProperty(style.id, "visibility", on ? "visible" : "none");
  }
  drawLegend();
}

// the run the coverage layers show (the newest kept), and how much of what it counts is estimated
async function showRun() {
  const box = document.getElementById("coverage-run");
  const runs = await api("/coverage/runs").catch(() => null);
  if (!runs) return;
  box.hidden = false;
  if (!runs.length) { box.textContent = "尚无覆盖分析：运行 gridmap coverage 后显示"; return; }
  const run = await api(`/coverage/runs/${runs[0].id}`).catch(() => null);
  if (!run) return;
  const going = run.method === "running" ? "，进行中" : run.method === "failed" ? "，未完成" : "";
  box.textContent = `覆盖分析第 ${run.id} 次（${run.created_at.slice(0, 10)}${going}）` + (run.homes ? "：" + run.homes.said_zh : "");
}

function drawSwitcher() {
  const box = document.getElementById("layers");
  box.innerHTML = "";
  for (const layer of LAYERS) {
    if (!allowed(layer)) continue;
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.checked = state.on[layer.id];
    input.dataset.layer = layer.id;
    input.addEventListener("change", () => setVisible(layer, input.checked));
    label.append(input, " " + layer.title);
    box.append(label);
  }
  document.getElementById("coverage-options").hidden = !LAYERS.some((l) => l.params && allowed(l));
}

function drawLegend() {
  const box = document.getElementById("legend-items");
  box.innerHTML = "";
  for (const layer of LAYERS) {
    if (!allowed(layer) || !state.on[layer.id]) continue;
    for (const [kind, colour, text] of layer.legend) {
      const row = document.createElement("div");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = kind === "line" ? "transparent" : colour;
      swatch.style.borderColor = colour;
      if (kind === "dot") swatch.style.borderRadius = "50%";
      row.append(swatch, text);
      box.append(row);
    }
  }
}

function table(rows) {
  const t = document.createElement("table");
  for (const [k, v] of rows) {
    if (v === null || v === undefined || v === "") continue;
    const tr = t.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  return t;
}

function people(list) { return (list || []).map((p) => `${p.person_name}${p.phone ? " " + p.phone : ""}`).join("，"); }

async function showDetails(event) {
  const box = document.getElementById("details-body");
  box.innerHTML = "";
  document.getElementById("details").hidden = false;
  const ours = map.queryRenderedFeatures(event.point).filter((f) => f.source !== "roads");
  for (const feature of ours.slice(0, 4)) {
    const title = document.createElement("h3");
    title.textContent = (LAYERS.find((l) => l.id === feature.source) || { title: feature.source }).title;
    box.append(title, table(Object.entries(feature.properties)));
  }
  try {
    const who = await api(`/who?lon=${event.lngLat.lng.toFixed(7)}&lat=${event.lngLat.lat.toFixed(7)}`);
    const rows = [["社区", who.community && who.community.name], ["小区", who.compound && who.compound.name],
      ["楼栋", who.building && (who.building.name || "#" + who.building.id)]];
    for (const g of who.grids) rows.push([`网格 ${g.code}`, `网格长：${people(g.leaders) || "—"}；网格员：${people(g.workers) || "—"}`]);
    if (who.compound) rows.push(["党支部", who.compound.branch ? who.compound.branch.name : "无"]);
    if (who.building) rows.push(["楼栋长", people(who.building.leaders) || "—"], ["楼栋党小组", who.building.party_group ? who.building.party_group.name : "无"]);
    const title = document.createElement("h3");
    title.textContent = "谁负责这里";
    box.append(title, table(rows));
    await showFigures(who);
  } catch (error) {
    box.append(document.createTextNode(error.message));
  }
}

// a planner's figures for the street, community and grid of a clicked place (/org/report)
const FIGURE_SCOPES = [["street", "街道"], ["community", "社区"], ["grid", "网格"]];
const HEADLINE = ["branches", "compounds_with_branch", "grids_with_branch", "building_groups", "central_households",
  "member_building_leaders", "one_shoulder", "units_registered", "in_service_registered", "households_linked",
  "needs_done", "points"];

async function showFigures(who) {
  state.lastWho = who;
  const section = document.getElementById("figures");
  if (!READERS.includes(role())) { section.hidden = true; return; }
  if (!state.report) state.report = await api("/org/report?missing=false");
  const scope = selected("figure-scope");
  const unit = scope === "street" ? who.street : scope === "community" ? who.community : (who.grids || [])[0];
  const body = document.getElementById("figures-body");
  body.innerHTML = "";
  section.hidden = false;
  if (!unit) { body.textContent = "这里不在任何" + FIGURE_SCOPES.find(([s]) => s === scope)[1] + "内"; return; }
  const rows = state.report.figures.filter((f) => f.scope === scope && f.unit_id === unit.id);
  const heading = document.createElement("h3");
  heading.textContent = `${unit.name || unit.code}（${unit.code || ""}）`;
  const shown = HEADLINE.map((id) => rows.find((r) => r.figure === id)).filter(Boolean).map((r) =>
    [r.figure_zh, r.what === "share" ? `${r.count}/${r.total}（${(100 * r.share).toFixed(1)}%）` : String(r.count)]);
  const t = table(shown);
  t.id = "figures-table";
  body.append(heading, t);
}

function fitTo(bounds) {
  if (!bounds) return;
  const side = !document.getElementById("panel").classList.contains("closed") && window.innerWidth > 600 ? 340 : 30;
  map.fitBounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]], { padding: { top: 30, bottom: 30, left: side, right: 30 }, duration: 0, maxZoom: 18 });
}

async function showArea() {
  const section = document.getElementById("area");
  if (!["grid_leader", "grid_worker"].includes(role())) { section.hidden = true; return; }
  const area = await api("/my-area");
  section.hidden = false;
  const body = document.getElementById("area-body");
  body.innerHTML = "";
  const t = area.totals;
  body.append(table([["网格", area.grid_codes.join("，")], ["楼栋", t.buildings], ["住户", t.households], ["居民", t.residents], ["党员", t.members],
    ["待办事件", `${t.open_events}（超期 ${t.overdue_events}）`], ["待走访", t.visits_due]]));
  body.append(eventList(area.events), visitList(area.visits_due));
  if (role() === "grid_worker") body.append(householdList(area.households));
  const duties = document.createElement("ul");
  for (const d of area.duties) {
    const li = document.createElement("li");
    li.textContent = `${d.role}：${d.person_name}（${d.target_layer} ${d.target_id}）`;
    duties.append(li);
  }
  body.append(duties);
  fitTo(area.bounds);
  state.area = area;
}

// a grid leader's next step for an event in each state, one tap each
const NEXT_STEP = { reported: ["accepted", "受理"], escalated: ["accepted", "受理"], accepted: ["in_progress", "开始处理"],
                    assigned: ["in_progress", "开始处理"], in_progress: ["resolved", "办结"] };
const STATE_NAMES = { reported: "待受理", escalated: "已上报", accepted: "已受理", assigned: "已派单", in_progress: "处理中", resolved: "已办结" };

function tapButton(label, action) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await action(); } catch (e) { alert(e.message); }
    await showArea();
  });
  return button;
}

function eventList(events) {
  const list = document.createElement("ul");
  list.id = "events-list";
  for (const e of events) {
    const li = document.createElement("li");
    li.dataset.event = e.id;
    const late = new Date(e.due_at + "Z") < new Date() ? " 超期" : "";
    const category = (state.config.event_categories.find((c) => c.id === e.category) || { name: e.category }).name;
    li.textContent = `#${e.id} ${category} · ${STATE_NAMES[e.state] || e.state} · 限 ${e.due_at.slice(0, 16).replace("T", " ")}${late} `;
    const next = NEXT_STEP[e.state];
    if (next) li.append(tapButton(next[1], () => api(`/events/${e.id}/steps`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ to: next[0] }) })));
    li.addEventListener("dblclick", () => map.flyTo({ center: [e.lon, e.lat], zoom: 18 }));
    list.append(li);
  }
  return list;
}

// a grid worker keeps their households up to date on a phone: residents and phone, one save each
function householdList(households) {
  const box = document.createElement("div");
  box.id = "households-list";
  const search = document.createElement("input");
  search.placeholder = "按单元、房号或户主查找";
  search.className = "tap";
  const list = document.createElement("ul");
  const show = () => {
    list.innerHTML = "";
    const q = search.value.trim();
    for (const h of households.filter((h) => !q || `${h.unit || ""}${h.room || ""}${h.head_name || ""}`.includes(q)).slice(0, 30)) {
      const li = document.createElement("li");
      li.dataset.household = h.id;
      li.append(`${h.unit || ""} ${h.room || ""} ${h.head_name || ""} `);
      const residents = document.createElement("input");
      residents.type = "number"; residents.min = 0; residents.max = 50; residents.value = h.residents ?? ""; residents.name = "residents";
      residents.className = "tap";
      const phone = document.createElement("input");
      phone.value = h.phone ?? ""; phone.name = "phone"; phone.className = "tap"; phone.placeholder = "电话";
      const save = document.createElement("button");
      save.type = "button"; save.textContent = "保存"; save.className = "tap";
      const said = document.createElement("span");
      save.addEventListener("click", async () => {
        save.disabled = true;
        try {
          const path = `/collections/households/items/${h.id}`;
          const item = await request(path, { headers: { Accept: "application/geo+json" } });
          const body = { type: "Feature", geometry: null, properties: { residents: residents.value === "" ? null : Number(residents.value),
            phone: phone.value.trim() || null } };
          const r = await request(path, { method: "PATCH", headers: { Accept: "application/geo+json", "If-Match": item.etag },
            body: JSON.stringify(body) });
          said.textContent = r.ok ? " 已保存" : ` ${problemText(r.body)}`;
          said.className = r.ok ? "ok" : "error";
        } finally { save.disabled = false; }
      });
      li.append(residents, phone, save, said);
      list.append(li);
    }
  };
  search.addEventListener("input", show);
  show();
  const title = document.createElement("h3");
  title.textContent = "住户";
  box.append(title, search, list);
  return box;
}

function visitList(due) {
  const list = document.createElement("ul");
  list.id = "visits-list";
  for (const v of due) {
    const li = document.createElement("li");
    li.dataset.household = v.household_id;
    li.textContent = `住户 ${v.household_id} · ${v.tags} · ${v.overdue_days ? `超期 ${v.overdue_days} 天` : `应于 ${v.due_on} 前`} `;
    li.append(tapButton("已走访", () => api("/visits", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ household_id: v.household_id }) })));
    list.append(li);
  }
  return list;
}

async function signedIn() {
  state.user = state.token ? await api("/auth/me").catch(() => null) : null;
  if (!state.user || state.user.role === "public" && !state.token) { state.user = null; }
  if (state.token && !state.user) { state.token = null; sessionStorage.removeItem("gridmap-token"); }
  document.getElementById("who-am-i").textContent = state.user ? `${state.user.name}（${state.user.role}）` : "未登录（公众）";
  document.getElementById("signin").hidden = Boolean(state.user);
  document.getElementById("signout").hidden = !state.user;
  state.report = null;
  document.getElementById("figures").hidden = true;
  drawAll();
  if (window.editorSignedIn) window.editorSignedIn();
  await showArea();
}

document.getElementById("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = document.getElementById("signin-error");
  try {
    const answer = await api("/auth/token", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: form.get("name"), password: form.get("password") }) });
    state.token = answer.access_token;
    sessionStorage.setItem("gridmap-token", state.token);
    error.hidden = true;
    event.target.reset();
    if (window.matchMedia("(max-width: 600px)").matches) {  // on a phone: show the map, not the form
      document.getElementById("panel").classList.add("closed");
      toggle.classList.add("closed");
    }
    await signedIn();
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
});

document.getElementById("signout").addEventListener("click", async () => {
  await api("/auth/sign-out", { method: "POST" }).catch(() => null);
  state.token = null;
  sessionStorage.removeItem("gridmap-token");
  await signedIn();
});

document.getElementById("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = new FormData(event.target).get("q").trim();
  const list = document.getElementById("results");
  list.innerHTML = "";
  if (!q) return;
  const found = await api(`/search?q=${encodeURIComponent(q)}`).catch((e) => [{ label: e.message }]);
  if (!found.length) list.innerHTML = "<li>没有找到</li>";
  for (const hit of found) {
    const li = document.createElement("li");
    li.textContent = hit.label;
    if (hit.bbox) li.addEventListener("click", () => fitTo(hit.bbox));
    list.append(li);
  }
  if (found.length === 1 && found[0].bbox) fitTo(found[0].bbox);
});

for (const id of ["category", "level"]) {
  document.getElementById(id).addEventListener("change", () => {
    for (const layer of LAYERS) if (layer.params && allowed(layer)) drawLayer(layer);
  });
}

document.getElementById("figure-scope").addEventListener("change", () => state.lastWho && showFigures(state.lastWho));

document.getElementById("basemap").addEventListener("change", (event) => {
  removeSource("basemap");
  const choice = event.target.value;
  let tiles = null;
  if (choice === "osm") tiles = ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"];
  if (choice === "tianditu") {
    if (!state.config.tianditu_key) { alert("天地图需要密钥（GRIDMAP_TIANDITU_KEY）"); event.target.value = "none"; return; }
    tiles = [0, 1, 2, 3].map((s) => `https://t${s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=${state.config.tianditu_key}`);
  }
  if (!tiles) return;
  map.addSource("basemap", { type: "raster", tiles, tileSize: 256, attribution: choice === "osm" ? "© OpenStreetMap contributors" : "© 天地图" });
  map.addLayer({ id: "basemap", type: "raster", source: "basemap" }, "roads-casing");
});

const toggle = document.getElementById("toggle");
toggle.addEventListener("click", () => {
  const panel = document.getElementById("panel");
  panel.classList.toggle("closed");
  toggle.classList.toggle("closed", panel.classList.contains("closed"));
  toggle.setAttribute("aria-expanded", String(!panel.classList.contains("closed")));
});

map.on("click", showDetails);

const ready = new Promise((resolve) => {
  map.on("load", async () => {
    state.config = await api("/config.json");
    const select = document.getElementById("category");
    for (const c of state.config.categories) select.add(new Option(`${c.name}`, c.id, false, c.id === "elderly_care"));
    if (window.matchMedia("(max-width: 600px)").matches) { document.getElementById("panel").classList.add("closed"); toggle.classList.add("closed"); }
    fitTo(state.config.bounds);
    await signedIn();
    resolve();
  });
});

// for tests and the console: the map, the state, and a promise that all tiles are drawn
window.gridmap = { map, state, ready, idle };

function idle() {
  return new Promise((resolve) => {
    if (map.loaded() && map.areTilesLoaded() && !map.isMoving()) resolve();
    else map.once("idle", () => resolve());  // not the event: it holds the whole map
  });
}
