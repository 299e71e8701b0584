// gridmap editor: the keepers of the data (admins, street and community admins) change grids,
// compounds, buildings and facilities in the browser — vertices dragged with snapping to the
// neighbours' vertices (Terra Draw), fields in a form built from the layer's schema, the checks
// of `gridmap validate` before saving, one changeset with a comment, the 412 path, history and
// a one-step undo. The service's access table decides what may be saved where.
"use strict";

const EDIT_ROLES = ["admin", "street_admin", "community_admin"];
const EDIT_LAYERS = ["facilities", "buildings", "compounds", "grids"];  // picked in this order at a click
const SNAP_PIXELS = 12;
const editor = { draw: null, on: false, layer: null, id: null, tag: null, drawId: null, schema: {}, saved: null };

function canEdit() { return EDIT_ROLES.includes(role()); }

function editorBox() { return document.getElementById("editor"); }
function editMessage(text, kind) {
  const p = document.getElementById("edit-message");
  p.textContent = text || "";
  p.className = kind || "";
}

function drawInit() {
  if (editor.draw) return editor.draw;
  const { TerraDraw, TerraDrawSelectMode, TerraDrawRenderMode, TerraDrawPolygonMode, TerraDrawPointMode,
    TerraDrawLineStringMode } = window.terraDraw;
  const adapter = new window.terraDrawMaplibreGlAdapter.TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 7 });
  const polygon = { feature: { draggable: false, coordinates: { draggable: true, midpoints: true, deletable: true,
    snappable: { toCoordinate: true } } } };
  editor.draw = new TerraDraw({ adapter, modes: [
    new TerraDrawSelectMode({ pointerDistance: SNAP_PIXELS, flags: { polygon, point: { feature: { draggable: true } },
      building: { feature: { draggable: true, coordinates: polygon.feature.coordinates } } } }),
    new TerraDrawRenderMode({ modeName: "neighbours", styles: { polygonFillOpacity: 0, polygonOutlineColor: "#888888",
      polygonOutlineWidth: 1 } }),
    new TerraDrawPolygonMode({ snapping: { toCoordinate: true } }),  // the modes the edited features belong to
    new TerraDrawPolygonMode({ modeName: "building" }),  // a building moves whole, or by its vertices
    new TerraDrawPointMode(),
    new TerraDrawLineStringMode(),  // a line to split a grid along
  ] });
  editor.draw.start();
  editor.draw.on("finish", (id, context) => {
    if ((editor.parts || []).includes(id) && (!context || context.action !== "dragFeature")) snapMoved(id);  // a whole move keeps its shape
    else if (context && context.mode === "linestring") splitAlong(editor.draw.getSnapshotFeature(id).geometry);
    else if (context && editor.adding && context.mode === ADDING[editor.adding].mode) {
      newFeature(editor.draw.getSnapshotFeature(id).geometry);
    }
  });
  return editor.draw;
}

// a vertex dropped within SNAP_PIXELS of a neighbour's vertex lands on it, so outlines stay seamless
function snapMoved(id) {
  const feature = editor.draw.getSnapshotFeature(id);
  if (!feature || feature.geometry.type !== "Polygon") return;
  const before = new Set((editor.rings.get(id) || []).map((c) => c.join(",")));
  let changed = false;
  const ring = feature.geometry.coordinates[0].map((c) => {
    if (before.has(c.join(","))) return c;
    const at = map.project(c);
    let best = null, bestD = SNAP_PIXELS;
    for (const v of editor.snapTo || []) {
      const p = map.project(v);
      const d = Math.hypot(p.x - at.x, p.y - at.y);
      if (d <= bestD) { best = v; bestD = d; }
    }
    if (best && (best[0] !== c[0] || best[1] !== c[1])) { changed = true; return best.slice(); }
    return c;
  });
  ring[ring.length - 1] = ring[0];
  if (changed) editor.draw.updateFeatureGeometry(id, { type: "Polygon", coordinates: [ring, ...feature.geometry.coordinates.slice(1)] });
  editor.rings.set(id, ring);
}

// a geometry as the shapes Terra Draw edits: each part of a MultiPolygon a polygon of its own
function drawnParts(geometry) {
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((coordinates) => ({ type: "Polygon", coordinates }));
  return [geometry];
}

async function fetchItem(layer, id) {
  const answer = await request(`/collections/${layer}/items/${id}`, { headers: { Accept: "application/geo+json" } });
  if (!answer.ok) throw new Error(problemText(answer.body) || String(answer.status));
  return { feature: answer.body, tag: answer.etag };
}

async function pickFeature(event) {
  const hit = map.queryRenderedFeatures(event.point).filter((f) => EDIT_LAYERS.includes(f.source))
    .sort((a, b) => EDIT_LAYERS.indexOf(a.source) - EDIT_LAYERS.indexOf(b.source))[0];
  if (!hit) { editMessage("这里没有可编辑的要素（网格、小区、楼栋、设施）"); return; }
  await openFeature(hit.source, hit.properties.id);
}

async function openFeature(layer, id) {
  const draw = drawInit();
  draw.clear();
  const { feature, tag } = await fetchItem(layer, id);
  Object.assign(editor, { layer, id, tag, original: feature });
  if (!editor.schema[layer]) editor.schema[layer] = await api(`/collections/${layer}/schema`);
  draw.setMode("neighbours");
  const [w, s, e, n] = featureBounds(feature.geometry);
  const pad = 0.002;
  const around = await api(`/collections/${layer}/items?bbox=${w - pad},${s - pad},${e + pad},${n + pad}&limit=200`);
  const neighbours = around.features.filter((f) => f.id !== id && f.geometry).flatMap((f) => drawnParts(f.geometry))
    .filter((g) => g.type === "Polygon").map((geometry) => ({ type: "Feature", geometry, properties: { mode: "neighbours" } }));
  draw.addFeatures(neighbours);
  editor.snapTo = neighbours.flatMap((f) => f.geometry.coordinates.flat());
  const shapes = drawnParts(feature.geometry);
  const mode = feature.geometry.type === "Point" ? "point" : layer === "buildings" ? "building" : "polygon";
  const added = draw.addFeatures(shapes.map((geometry) => ({ type: "Feature", geometry, properties: { mode } })));
  const refused = added.find((a) => !a.valid);
  editor.parts = refused ? [] : added.map((a) => a.id);  // every part drawn, or the outline is not edited
  editor.drawId = editor.parts.length ? editor.parts[0] : null;
  editor.rings = new Map(editor.parts.map((part, i) => [part, shapes[i].type === "Polygon" ? shapes[i].coordinates[0] : null]));
  editor.refused = refused ? refused.reason : null;
  draw.setMode("select");
  if (editor.drawId) draw.selectFeature(editor.drawId);
  showForm(layer, feature.properties);
  document.getElementById("edit-grid-tools").hidden = layer !== "grids";
  await showTerms();
  const pieces = editor.parts.length > 1 ? `（这个边界有 ${editor.parts.length} 块，各自选中后拖动）` : "";
  editMessage(editor.drawId ? `拖动顶点修改边界${pieces}（靠近邻居顶点会吸附），或修改属性，然后检查、保存`
    : `只能修改属性：边界无法在页面上编辑（${editor.refused || "无效的几何"}）`);
  editorBox().dataset.open = `${layer}/${id}`;
}

function featureBounds(geometry) {
  const xs = [], ys = [];
  (function walk(c) { if (typeof c[0] === "number") { xs.push(c[0]); ys.push(c[1]); } else c.forEach(walk); })(geometry.coordinates);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

// where a building's homes and levels came from, beside their fields: a clerk sees what is an
// estimate (and a value typed over it is theirs: the service keeps it as given)
const SOURCES = { estimate: "（估算）", ledger: "（台账）" };
function sourceOf(name, properties) {
  if (name === "households" || name === "residents") return SOURCES[properties.households_from] || "";
  if (name === "levels" && properties.levels_from && properties.levels_from !== "given") return SOURCES.estimate;
  return "";
}

function showForm(layer, properties) {
  const form = document.getElementById("edit-form");
  form.innerHTML = "";
  const schema = editor.schema[layer];
  for (const [name, field] of Object.entries(schema.properties)) {
    if (["source", "osm_id", "generated", "estimated", "households_from", "levels_from"].includes(name)) continue;
    const label = document.createElement("label");
    label.textContent = field.title + (schema.required.includes(name) ? " *" : "") + sourceOf(name, properties) + " ";
    let input;
    if (field.enum) {
      input = document.createElement("select");
      input.add(new Option("—", ""));
      for (const v of field.enum) input.add(new Option(v, v));
    } else if (field.type === "boolean") {
      input = document.createElement("select");
      for (const [v, t] of [["", "—"], ["true", "是"], ["false", "否"]]) input.add(new Option(t, v));
    } else {
      input = document.createElement("input");
      input.type = field.type === "integer" || field.type === "number" ? "number" : field.format === "date" ? "date" : "text";
      if (field.maxLength) input.maxLength = field.maxLength;
      if (field.minimum !== undefined) { input.min = field.minimum; input.max = field.maximum; }
    }
    input.name = name;
    const value = properties[name];
    input.value = value === null || value === undefined ? "" : String(value);
    input.dataset.original = input.value;
    label.append(input);
    form.append(label);
  }
}

function formChanges() {
  const changes = {};
  const schema = editor.schema[editor.layer];
  for (const input of document.querySelectorAll("#edit-form [name]")) {
    if (input.value === input.dataset.original) continue;
    const field = schema.properties[input.name];
    let value = input.value === "" ? null : input.value;
    if (value !== null && (field.type === "integer" || field.type === "number")) value = Number(value);
    if (value !== null && field.type === "boolean") value = value === "true";
    changes[input.name] = value;
  }
  return changes;
}

// the outline as edited, in the stored type (a MultiPolygon of its parts); null when unchanged
function editedGeometry() {
  if (!editor.drawId) return null;
  const now = editor.parts.map((part) => editor.draw.getSnapshotFeature(part));
  if (now.some((f) => !f)) return null;
  const type = editor.original.geometry.type;
  const coordinates = type === "MultiPolygon" ? now.map((f) => f.geometry.coordinates) : now[0].geometry.coordinates;
  if (JSON.stringify(coordinates) === JSON.stringify(editor.original.geometry.coordinates)) return null;
  return { type, coordinates };
}

function changeset(dryRun) {
  if (editor.creating) {
    const properties = Object.fromEntries(Object.entries(formChanges()).filter(([, v]) => v !== null));
    const comment = document.getElementById("edit-comment").value.trim() || (dryRun ? "检查" : "");
    return { comment, dry_run: dryRun, changes: [{ action: "create", layer: editor.layer, properties, geometry: editor.creating }] };
  }
  const change = { action: "update", layer: editor.layer, id: editor.id, if_match: editor.tag, properties: formChanges() };
  const geometry = editedGeometry();
  if (geometry) change.geometry = geometry;
  const comment = document.getElementById("edit-comment").value.trim() || (dryRun ? "检查" : "");
  return { comment, dry_run: dryRun, changes: [change] };
}

async function postChangeset(body) {
  return request("/changesets", { method: "POST", body: JSON.stringify(body) });
}

function showFindings(collection) {
  if (map.getSource("findings")) { map.getSource("findings").setData(collection); return; }
  map.addSource("findings", { type: "geojson", data: collection });
  map.addLayer({ id: "findings-fill", type: "fill", source: "findings", paint: { "fill-color": "#e31a1c", "fill-opacity": 0.45 } });
  map.addLayer({ id: "findings-line", type: "line", source: "findings", paint: { "line-color": "#e31a1c", "line-width": 2 } });
}

async function checkEdit() {
  const { status, body } = await postChangeset(changeset(true));
  const list = document.getElementById("edit-findings");
  list.innerHTML = "";
  if (status !== 200) { editMessage(body.detail || "检查失败", "error"); return; }
  showFindings(body.findings);
  for (const f of body.findings.features) {
    const li = document.createElement("li");
    li.className = f.properties.severity;
    li.textContent = `${f.properties.severity === "error" ? "错误" : "提示"}：${f.properties.message}`;
    list.append(li);
  }
  editMessage(body.findings.features.length ? `检查发现 ${body.findings.features.length} 处问题` : "检查通过，没有问题", "ok");
}

async function saveEdit() {
  const body = changeset(false);
  if (!body.comment) { editMessage("保存前请写一句说明（做了什么、为什么）", "error"); return; }
  const { status, body: answer } = await postChangeset(body);
  if (status === 200) {
    editor.saved = answer.changeset_id;
    refreshTiles(editor.layer);
    editor.creating = null;
    await openFeature(editor.layer, answer.features[0].id);
    editMessage(`已保存（变更集 ${answer.changeset_id}）`, "ok");
    return;
  }
  if (status === 412) {
    editMessage("这个要素在您读取之后已被他人修改；重新载入后您的修改会保留，请再检查、保存", "error");
    document.getElementById("edit-reload").hidden = false;
    return;
  }
  editMessage(problemText(answer), "error");
}

async function reloadKeepingChanges() {
  const kept = formChanges();
  const geometry = editedGeometry();
  const { tag, feature } = await fetchItem(editor.layer, editor.id);
  editor.tag = tag;
  showForm(editor.layer, Object.assign({}, feature.properties, kept));
  for (const input of document.querySelectorAll("#edit-form [name]")) input.dataset.original = String(feature.properties[input.name] ?? "");
  const parts = geometry ? drawnParts(geometry) : [];
  if (parts.length === editor.parts.length) parts.forEach((part, i) => editor.draw.updateFeatureGeometry(editor.parts[i], part));
  editor.original = feature;
  document.getElementById("edit-reload").hidden = true;
  editMessage("已载入最新版本并保留了您的修改");
}

async function showHistory() {
  const list = document.getElementById("edit-history");
  list.innerHTML = "";
  const versions = await api(`/collections/${editor.layer}/items/${editor.id}/history`).catch((e) => { editMessage(e.message, "error"); return []; });
  for (const v of versions.slice().reverse()) {
    const li = document.createElement("li");
    li.textContent = `${v.at.slice(0, 16).replace("T", " ")} ${v.user} ${v.action}${v.comment ? "：" + v.comment : ""}`;
    list.append(li);
  }
}

async function undoLast() {
  const answer = await request(`/collections/${editor.layer}/items/${editor.id}/revert`,
    { method: "POST", headers: { Accept: "application/geo+json", "If-Match": editor.tag } });
  if (!answer.ok) { editMessage(problemText(answer.body), "error"); return; }
  refreshTiles(editor.layer);
  await openFeature(editor.layer, editor.id);
  await showHistory();
  editMessage("已撤销上一步", "ok");
}

// --- a grid split along a drawn line, or merged with a neighbour: the plan first, then applied ---
async function splitAlong(line) {
  if (editor.layer !== "grids") return;
  await redraw({ split: editor.original.properties.code, line });
}

async function mergeWith() {
  const other = document.getElementById("edit-merge-code").value.trim();
  if (!other) { editMessage("写下要合并的相邻网格编码", "error"); return; }
  await redraw({ merge: [editor.original.properties.code, other] });
}

async function redraw(body, apply) {
  const sent = Object.assign({}, body, apply ? { apply: true, end_terms: document.getElementById("edit-end-terms").checked } : {});
  const reply = await request("/grids/redraw", { method: "POST", headers: { Accept: "application/geo+json" }, body: JSON.stringify(sent) });
  const answer = reply.body;
  if (!reply.ok) { editMessage(problemText(answer), "error"); return; }
  const plan = document.getElementById("edit-plan");
  plan.innerHTML = "";
  const changed = answer.features.filter((f) => f.properties.status !== "kept");
  plan.append(table(changed.map((f) => [f.properties.code, `${f.properties.status} · ${f.properties.households} 户`])));
  const lineage = document.createElement("p");
  lineage.textContent = answer.lineage.map((r) => `${r.old_code || "—"} → ${r.new_code}（${r.relation}）`).join("；");
  plan.append(lineage);
  if (apply) {
    refreshTiles("grids");
    closeFeature();
    editMessage(`已应用：新增 ${answer.applied.added.join("、") || "无"}，撤销 ${answer.applied.retired.join("、") || "无"}`, "ok");
    return;
  }
  const button = document.createElement("button");
  button.type = "button";
  button.id = "edit-apply-plan";
  button.textContent = "应用";
  button.addEventListener("click", () => redraw(body, true));
  plan.append(button);
  editMessage("预览：确认后点“应用”；现任网格长、网格员在被撤销的网格上时须勾选“结束其任期”");
}

// --- terms: who holds which post on the open feature, and appointing from the members ---
async function termPosts() {
  if (!editor.posts) editor.posts = await api("/assignments/posts");
  return editor.posts.filter((p) => p.held_for.includes(editor.layer));
}

async function showTerms() {
  const box = document.getElementById("edit-terms");
  box.innerHTML = "";
  const posts = editor.layer && editor.id ? await termPosts() : [];
  document.getElementById("edit-term-tools").hidden = posts.length === 0;
  if (!posts.length) return;
  const names = Object.fromEntries(posts.map((p) => [p.id, p.name_zh]));
  const select = document.getElementById("term-role");
  if (select.dataset.layer !== editor.layer) {
    select.innerHTML = "";
    for (const p of posts) select.append(new Option(p.name_zh, p.id));
    select.dataset.layer = editor.layer;
  }
  const terms = await api(`/assignments/history?target_layer=${editor.layer}&target_id=${editor.id}`).catch(() => []);
  const list = document.createElement("ul");
  for (const t of terms.filter((t) => !t.valid_to)) {
    const li = document.createElement("li");
    li.textContent = `${names[t.role] || t.role}：${t.person_name}${t.member_id ? "（党员）" : ""} `;
    const end = document.createElement("button");
    end.type = "button";
    end.textContent = "结束任期";
    end.addEventListener("click", async () => {
      try { await api(`/assignments/${t.id}/end`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }); }
      catch (e) { editMessage(e.message, "error"); }
      await showTerms();
    });
    li.append(end);
    list.append(li);
  }
  box.append(list);
  await listMembers();
}

// the members who may take a post here: those living in the building, or of the feature's community
async function listMembers() {
  const props = editor.original ? editor.original.properties : {};
  const filter = editor.layer === "buildings" ? `building_id=${editor.id}`
    : props.community_id ? `community_id=${props.community_id}` : null;
  const found = filter ? await api(`/collections/members/items?${filter}&limit=1000`).catch(() => null) : null;
  editor.members = found ? found.features.filter((f) => f.properties.name) : [];
  const list = document.getElementById("term-members");
  list.innerHTML = "";
  for (const m of editor.members) list.append(new Option(memberLabel(m), memberLabel(m)));
}

function memberLabel(m) { return `${m.properties.name} · 党员 #${m.id}`; }

async function appoint() {
  const typed = document.getElementById("term-name").value.trim();
  const member = (editor.members || []).find((m) => memberLabel(m) === typed);
  const body = { role: document.getElementById("term-role").value, target_layer: editor.layer, target_id: editor.id,
    person_name: member ? member.properties.name : typed };
  if (member) body.member_id = member.id;
  const phone = document.getElementById("term-phone").value.trim() || (member && member.properties.phone) || "";
  if (phone) body.phone = phone;
  try {
    await api("/assignments", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    editMessage(`已任命 ${body.person_name}`, "ok");
    document.getElementById("term-name").value = "";
    document.getElementById("term-phone").value = "";
  } catch (e) { editMessage(e.message, "error"); }
  await showTerms();
}

// --- a new facility (a point) or building (an outline) drawn, then its form ---
const ADDING = { facilities: { mode: "point", name: "设施", hint: "在地图上点出新设施的位置" },
  buildings: { mode: "polygon", name: "楼栋", hint: "在地图上逐点画出新楼栋的轮廓，最后单击第一个点闭合" } };

function startAdding(layer) {
  closeFeature();
  drawInit().setMode(ADDING[layer].mode);
  editor.adding = layer;
  editMessage(ADDING[layer].hint);
}

async function newFeature(geometry) {
  const layer = editor.adding;
  if (!editor.schema[layer]) editor.schema[layer] = await api(`/collections/${layer}/schema`);
  const multi = editor.schema[layer]["x-geometry"] === "MULTIPOLYGON" && geometry.type === "Polygon";
  const stored = multi ? { type: "MultiPolygon", coordinates: [geometry.coordinates] } : geometry;
  Object.assign(editor, { adding: null, layer, id: null, tag: null, creating: stored });  // before the click's pick
  editor.draw.setMode("select");
  showForm(layer, {});
  editMessage(`填写新${ADDING[layer].name}的属性（* 为必填），然后检查、保存`);
}

function refreshTiles(layer) {
  const source = map.getSource(layer);
  if (source && source.setTiles) source.setTiles([tileUrl(layer, false) + `?v=${Date.now()}`]);
}

function setEditing(on) {
  editor.on = on;
  document.getElementById("edit-toggle").textContent = on ? "结束编辑" : "编辑";
  document.getElementById("edit-body").hidden = !on;
  if (!on && editor.draw) { closeFeature(); editor.draw.setMode("static"); }
  if (on) editMessage("点击地图上的网格、小区、楼栋或设施开始编辑");
}

function editorSignedIn() {
  const box = editorBox();
  box.hidden = !canEdit();
  setEditing(false);
}

function closeFeature() {
  if (editor.draw) editor.draw.clear();
  Object.assign(editor, { layer: null, id: null, tag: null, drawId: null, parts: [], creating: null, adding: null });
  for (const id of ["edit-plan", "edit-terms"]) document.getElementById(id).innerHTML = "";
  document.getElementById("edit-grid-tools").hidden = true;
  document.getElementById("edit-term-tools").hidden = true;
  document.getElementById("edit-form").innerHTML = "";
  document.getElementById("edit-findings").innerHTML = "";
  if (map.getSource("findings")) map.getSource("findings").setData({ type: "FeatureCollection", features: [] });
  editMessage("点击地图上的网格、小区、楼栋或设施开始编辑");
  delete editorBox().dataset.open;
}

document.getElementById("edit-form").addEventListener("submit", (event) => event.preventDefault());
document.getElementById("edit-toggle").addEventListener("click", () => setEditing(!editor.on));
document.getElementById("edit-close").addEventListener("click", closeFeature);
document.getElementById("edit-split").addEventListener("click", () => { editor.draw.setMode("linestring"); editMessage("在网格上画一条穿过它的线：逐点单击，最后按回车"); });
document.getElementById("edit-merge").addEventListener("click", mergeWith);
document.getElementById("edit-appoint").addEventListener("click", appoint);
document.getElementById("edit-add").addEventListener("click", () => startAdding("facilities"));
document.getElementById("edit-add-building").addEventListener("click", () => startAdding("buildings"));
document.getElementById("edit-check").addEventListener("click", checkEdit);
document.getElementById("edit-save").addEventListener("click", saveEdit);
document.getElementById("edit-reload").addEventListener("click", reloadKeepingChanges);
document.getElementById("edit-history-button").addEventListener("click", showHistory);
document.getElementById("edit-undo").addEventListener("click", undoLast);
map.on("click", (event) => {
  if (editor.on && canEdit() && !editor.id && !editor.adding && !editor.creating) pickFeature(event).catch((e) => editMessage(e.message, "error"));
});
window.editorSignedIn = editorSignedIn;

window.gridmapEditor = { editor, openFeature, closeFeature, checkEdit, saveEdit, editedGeometry, setEditing };
