// Validate n8n workflow files with n8n's own packages: every node's type and typeVersion exists in
// n8n-nodes-base, every parameter is one that node version declares, credentials are of a type the
// node accepts, connections name real nodes, and n8n-workflow's Workflow class builds the graph.
//
//   node validate.js ../../deploy/n8n/*.json       -> prints one JSON line per file, exits 1 on a problem
'use strict';
const fs = require('fs');
const path = require('path');
const { Workflow, NodeHelpers } = require('n8n-workflow');

const basePkg = require('n8n-nodes-base/package.json');
const baseDir = path.dirname(require.resolve('n8n-nodes-base/package.json'));
const loaded = new Map();

function loadType(type) {
  if (loaded.has(type)) return loaded.get(type);
  const [pkg, name] = type.split('.');
  if (pkg !== 'n8n-nodes-base') throw new Error(`node type ${type}: only n8n-nodes-base nodes are used here`);
  const file = basePkg.n8n.nodes.find((f) => path.basename(f, '.node.js').toLowerCase() === name.toLowerCase());
  if (!file) throw new Error(`node type ${type} does not exist in n8n-nodes-base ${basePkg.version}`);
  const mod = require(path.join(baseDir, file));
  const Cls = Object.values(mod).find((v) => typeof v === 'function');
  const node = new Cls();
  loaded.set(type, node);
  return node;
}

function versioned(type, version) {
  const node = loadType(type);
  if (node.nodeVersions) {
    if (!node.nodeVersions[version]) {
      throw new Error(`node type ${type} has no typeVersion ${version} (has ${Object.keys(node.nodeVersions)})`);
    }
    return node.nodeVersions[version];
  }
  const versions = [].concat(node.description.version);
  if (!versions.includes(version)) throw new Error(`node type ${type} has no typeVersion ${version} (has ${versions})`);
  return node;
}

const nodeTypes = {
  getByName: (type) => loadType(type),
  getByNameAndVersion: (type, version) => versioned(type, version),
  getKnownTypes: () => ({}),
};

function check(file) {
  const workflow = JSON.parse(fs.readFileSync(file, 'utf8'));
  const problems = [];
  for (const key of ['name', 'nodes', 'connections']) if (!(key in workflow)) problems.push(`no "${key}"`);
  const names = new Set(workflow.nodes.map((n) => n.name));
  if (names.size !== workflow.nodes.length) problems.push('two nodes share a name');
  for (const node of workflow.nodes) {
    let type;
    try {
      type = versioned(node.type, node.typeVersion);
    } catch (error) {
      problems.push(`${node.name}: ${error.message}`);
      continue;
    }
    const declared = new Set(type.description.properties.map((p) => p.name));
    for (const key of Object.keys(node.parameters)) {
      if (!declared.has(key)) problems.push(`${node.name}: ${node.type} v${node.typeVersion} has no parameter "${key}"`);
    }
    const resolved = NodeHelpers.getNodeParameters(type.description.properties, node.parameters, false, false, node);
    if (resolved === null) problems.push(`${node.name}: n8n could not resolve its parameters`);
    const accepted = new Set((type.description.credentials || []).map((c) => c.name));
    if (node.parameters.authentication === 'genericCredentialType') accepted.add(node.parameters.genericAuthType);
    for (const credential of Object.keys(node.credentials || {})) {
      if (!accepted.has(credential)) problems.push(`${node.name}: does not take credentials of type ${credential}`);
    }
  }
  for (const [source, outputs] of Object.entries(workflow.connections)) {
    if (!names.has(source)) problems.push(`connection from unknown node "${source}"`);
    for (const branch of outputs.main || []) {
      for (const target of branch || []) if (!names.has(target.node)) problems.push(`connection to unknown node "${target.node}"`);
    }
  }
  let triggers = [];
  if (!problems.length) {
    const graph = new Workflow({ nodes: workflow.nodes, connections: workflow.connections, active: false, nodeTypes,
                                 settings: workflow.settings || {} });
    triggers = workflow.nodes.filter((n) => graph.getParentNodes(n.name).length === 0).map((n) => n.name);
    const unreachable = workflow.nodes.filter((n) => !triggers.includes(n.name) &&
      !triggers.some((t) => graph.getChildNodes(t).includes(n.name))).map((n) => n.name);
    if (unreachable.length) problems.push(`nodes no trigger reaches: ${unreachable}`);
  }
  return { file: path.basename(file), n8n_nodes_base: basePkg.version, nodes: workflow.nodes.length, triggers, problems };
}

let failed = false;
for (const file of process.argv.slice(2)) {
  let result;
  try {
    result = check(file);
  } catch (error) {
    result = { file: path.basename(file), problems: [String(error && error.stack || error)] };
  }
  failed = failed || result.problems.length > 0;
  console.log(JSON.stringify(result));
}
process.exit(failed ? 1 : 0);
