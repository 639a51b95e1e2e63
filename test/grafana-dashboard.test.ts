/**
 * The shipped Grafana dashboard (deploy/grafana/tern.json) type-checks against Grafana's own
 * published schema types (`Dashboard` from @grafana/schema), compiled in memory with the
 * TypeScript compiler, and is structurally sound: unique panel ids, every panel with a
 * Prometheus query over the datasource variable. Its queries are run against a real
 * Prometheus in test/e2e-grafana-prometheus.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { ROOT } from './support/processes.js';

const DASHBOARD = path.join(ROOT, 'deploy', 'grafana', 'tern.json');

interface Target {
  refId: string;
  expr: string;
}
interface PanelJson {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  datasource?: { type: string; uid: string };
}

/** Diagnostics of `const dashboard: Dashboard = <json>` compiled in memory. */
function typeCheck(json: string): string[] {
  const fileName = path.join(ROOT, 'test', '__grafana-dashboard-check.ts');
  const source = `import type { Dashboard } from '@grafana/schema';\nexport const dashboard: Dashboard = ${json};\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (f === fileName ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang, ...rest));
  host.fileExists = (f) => f === fileName || fileExists(f);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('deploy/grafana/tern.json', () => {
  const text = readFileSync(DASHBOARD, 'utf8');

  it("type-checks against Grafana's published Dashboard type", () => {
    assert.deepEqual(typeCheck(text), []);
  });

  it('the type check catches a malformed dashboard', () => {
    const broken = JSON.parse(text) as { panels: Array<{ gridPos: unknown }> };
    broken.panels[1]!.gridPos = { h: 'eight', w: 12, x: 0, y: 0 };
    assert.ok(typeCheck(JSON.stringify(broken)).length > 0);
  });

  it('has unique panel ids and a Prometheus query on every panel', () => {
    const d = JSON.parse(text) as { panels: PanelJson[]; templating: { list: Array<{ name: string }> } };
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    const panels = d.panels.filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 10, `${panels.length} panels`);
    for (const p of panels) {
      assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
      for (const t of p.targets ?? []) assert.match(t.expr, /tern_/, `${p.title}: ${t.expr}`);
    }
    assert.deepEqual(
      d.templating.list.map((v) => v.name),
      ['datasource', 'service'],
    );
  });
});
