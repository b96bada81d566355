// Renders an OpenAPI 3.1 document as a reference page: operations grouped by tag, each with its
// parameters, request body and responses, then every schema in components. No dependencies.
// Every value from the document is inserted as text (never as HTML), so a description can't
// inject markup into the page.
"use strict";

(function () {
  const REF_PREFIX = "#/components/schemas/";
  const METHODS = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Descriptions are docstrings: blank lines separate paragraphs, ``x`` or `x` is code.
  function richText(text, className) {
    const box = el("div", { class: className || "description" });
    for (const paragraph of String(text).split(/\n\s*\n/)) {
      const p = el("p");
      String(paragraph).split(/(``[^`]+``|`[^`]+`)/).forEach((part, i) => {
        if (i % 2 === 1) p.append(el("code", {}, part.replace(/^`+|`+$/g, "")));
        else if (part) p.append(part);
      });
      box.append(p);
    }
    return box;
  }

  function schemaAnchor(name) {
    return "schema-" + name.replace(/[^A-Za-z0-9_.-]/g, "_");
  }

  function refName(ref) {
    return ref.startsWith(REF_PREFIX) ? decodeURIComponent(ref.slice(REF_PREFIX.length)) : ref;
  }

  // A compact, linked label for a schema's type: "array of Thing", "string | null".
  function typeLabel(schema) {
    if (schema === true || schema === undefined || schema === null) return el("span", {}, "any");
    if (schema === false) return el("span", {}, "nothing");
    if (schema.$ref) {
      const name = refName(schema.$ref);
      return el("a", { href: "#" + schemaAnchor(name), class: "ref" }, name);
    }
    const union = schema.anyOf || schema.oneOf;
    if (union) return joinLabels(union.map(typeLabel), " | ");
    if (schema.allOf) return joinLabels(schema.allOf.map(typeLabel), " & ");
    if ("const" in schema) return el("code", {}, JSON.stringify(schema.const));
    if (schema.enum) return el("span", {}, "one of ", joinLabels(
      schema.enum.map((v) => el("code", {}, JSON.stringify(v))), ", "));
    const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    if (types.length === 0) return el("span", {}, schema.properties ? "object" : "any");
    return joinLabels(types.map((type) => {
      if (type === "array") {
        return el("span", {}, "array of ", typeLabel(schema.items));
      }
      if (type === "object" && schema.additionalProperties && !schema.properties) {
        return el("span", {}, "object of ", typeLabel(schema.additionalProperties));
      }
      return el("span", {}, schema.format ? `${type} (${schema.format})` : type);
    }), " | ");
  }

  function joinLabels(labels, separator) {
    const span = el("span");
    labels.forEach((label, i) => {
      if (i > 0) span.append(separator);
      span.append(label);
    });
    return span;
  }

  // The rules beyond the type, as short phrases: "≥ 1", "max length 100", "default 20".
  function constraints(schema) {
    if (!schema || typeof schema !== "object") return [];
    const words = [];
    const pairs = [
      ["minimum", "≥ "], ["maximum", "≤ "], ["exclusiveMinimum", "> "], ["exclusiveMaximum", "< "],
      ["minLength", "min length "], ["maxLength", "max length "], ["minItems", "min items "],
      ["maxItems", "max items "], ["pattern", "pattern "], ["multipleOf", "multiple of "],
    ];
    for (const [key, text] of pairs) {
      if (key in schema) words.push(text + schema[key]);
    }
    if ("default" in schema) words.push("default " + JSON.stringify(schema.default));
    if (schema.readOnly) words.push("read-only");
    if (schema.deprecated) words.push("deprecated");
    return words;
  }

  function propertiesTable(schema) {
    const required = new Set(schema.required || []);
    const rows = Object.entries(schema.properties || {}).map(([name, prop]) => el("tr", {},
      el("td", {}, el("code", {}, name), required.has(name) ? el("span", { class: "req" }, " *") : ""),
      el("td", {}, typeLabel(prop)),
      el("td", {}, prop.description ? richText(prop.description, "note") : "", constraintsNote(prop))));
    if (schema.additionalProperties === false) {
      rows.push(el("tr", { class: "note" }, el("td", { colspan: 3 }, "No other fields are accepted.")));
    }
    return el("table", { class: "fields" },
      el("thead", {}, el("tr", {}, el("th", {}, "Field"), el("th", {}, "Type"), el("th", {}, "Notes"))),
      el("tbody", {}, rows));
  }

  function constraintsNote(schema) {
    const words = constraints(schema);
    return words.length ? el("span", { class: "constraints" }, words.join(", ")) : "";
  }

  function schemaBlock(schema) {
    const block = el("div", { class: "schema" }, el("p", {}, "Type: ", typeLabel(schema)));
    if (schema && schema.properties) block.append(propertiesTable(schema));
    const note = constraintsNote(schema);
    if (note) block.append(el("p", {}, note));
    return block;
  }

  function parametersTable(parameters) {
    return el("table", { class: "fields" },
      el("thead", {}, el("tr", {},
        el("th", {}, "Name"), el("th", {}, "In"), el("th", {}, "Type"), el("th", {}, "Notes"))),
      el("tbody", {}, parameters.map((p) => el("tr", {},
        el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req" }, " *") : ""),
        el("td", {}, p.in),
        el("td", {}, typeLabel(p.schema)),
        el("td", {}, p.description ? richText(p.description, "note") : "", constraintsNote(p.schema))))));
  }

  function contentBlock(content) {
    return Object.entries(content || {}).map(([mediaType, media]) => el("div", { class: "media" },
      el("p", { class: "media-type" }, el("code", {}, mediaType)), schemaBlock(media.schema)));
  }

  function operationBlock(path, method, op) {
    const body = el("div", { class: "op-body" });
    if (op.description) body.append(richText(op.description));
    if (op.parameters && op.parameters.length) {
      body.append(el("h4", {}, "Parameters"), parametersTable(op.parameters));
    }
    if (op.requestBody) {
      body.append(el("h4", {}, "Request body", op.requestBody.required ? " (required)" : ""),
        contentBlock(op.requestBody.content));
    }
    body.append(el("h4", {}, "Responses"));
    for (const [status, resp] of Object.entries(op.responses || {})) {
      const kind = status.startsWith("2") ? "ok" : status.startsWith("3") ? "redirect" : "error";
      body.append(el("div", { class: "response " + kind },
        el("p", {}, el("span", { class: "status-code" }, status), " ", resp.description || ""),
        contentBlock(resp.content)));
    }
    return el("details", { class: "op op-" + method, id: op.operationId || null },
      el("summary", {},
        el("span", { class: "method" }, method.toUpperCase()),
        el("code", { class: "path" }, path),
        el("span", { class: "summary" }, op.summary || ""),
        op.deprecated ? el("span", { class: "deprecated" }, "deprecated") : ""),
      body);
  }

  function render(spec, root) {
    const info = spec.info || {};
    document.getElementById("api-title").textContent = info.title || "API";
    document.getElementById("api-version").textContent = "version " + (info.version || "?");
    document.getElementById("api-description").textContent = info.description || "";
    document.title = (info.title || "API") + " — API reference";

    const tagInfo = new Map((spec.tags || []).map((tag) => [tag.name, tag]));
    const groups = new Map();
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "default";
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push(operationBlock(path, method, op));
      }
    }

    const filter = el("input", {
      type: "search", class: "filter", placeholder: "Filter operations", "aria-label": "Filter operations",
    });
    const sections = [];
    for (const [tag, ops] of groups) {
      const description = tagInfo.has(tag) ? tagInfo.get(tag).description : "";
      sections.push(el("section", { class: "tag" },
        el("h2", {}, tag), description ? richText(description) : "", ops));
    }
    filter.addEventListener("input", () => {
      const needle = filter.value.trim().toLowerCase();
      for (const op of root.querySelectorAll("details.op")) {
        op.hidden = needle !== "" && !op.querySelector("summary").textContent.toLowerCase().includes(needle);
      }
    });

    const schemas = (spec.components && spec.components.schemas) || {};
    const schemaSections = Object.entries(schemas).map(([name, schema]) => el("section", {
      class: "component", id: schemaAnchor(name),
    }, el("h3", {}, name), schema.description ? richText(schema.description) : "",
    schemaBlock(schema)));

    root.replaceChildren(
      el("nav", { class: "toolbar" }, filter),
      ...(sections.length ? sections : [el("p", { class: "status" }, "This API has no operations yet.")]),
      schemaSections.length ? el("section", { class: "schemas" }, el("h2", {}, "Schemas"), schemaSections) : "");
    if (location.hash) {
      const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) {
        if (target.tagName === "DETAILS") target.open = true;
        target.scrollIntoView();
      }
    }
  }

  function start() {
    const root = document.getElementById("api-docs");
    fetch(root.dataset.specUrl, { headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then((spec) => render(spec, root))
      .catch((error) => {
        root.replaceChildren(el("p", { class: "status error" },
          "Could not load the API description: " + error.message));
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
