import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WORKSPACE_ROOT } from '@audience-bridge/harness';

// The alert rules (deploy/prometheus) under Prometheus' own rule checker and unit tests (`promtool`, from Debian's
// `prometheus` package, installed by .ci/run), and the Grafana dashboard's shape. That every metric name they use is
// served by the apps is proven against the running apps in metrics.spec.ts.
const PROMTOOL = process.env['PROMTOOL_PATH'] ?? '/usr/bin/promtool';
const PROMETHEUS_DIR = join(WORKSPACE_ROOT, 'deploy/prometheus');
const run = promisify(execFile);

/** promtool's exit status and output (it prints its failures on stdout or stderr). */
async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('Prometheus alerts (promtool)', () => {
  beforeAll(() => {
    if (!existsSync(PROMTOOL))
      throw new Error(`${PROMTOOL} is missing: apt-get install -y --no-install-recommends prometheus (.ci/run does), or set PROMTOOL_PATH`);
  });

  it('checks the rules and the compose Prometheus configuration', async () => {
    const rules = await promtool('check', 'rules', join(PROMETHEUS_DIR, 'alerts.yml'));
    expect(rules.output).toMatch(/SUCCESS: 4 rules found/);
    expect(rules.code).toBe(0);
    const config = await promtool('check', 'config', '--syntax-only', join(PROMETHEUS_DIR, 'prometheus.yml'));
    expect(config.output).toMatch(/SUCCESS/);
    expect(config.code).toBe(0);
  });

  it('passes the rules unit tests, which expect every alert to fire at least once', async () => {
    const result = await promtool('test', 'rules', join(PROMETHEUS_DIR, 'alerts.test.yml'));
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.code).toBe(0);
    const alerts = [...readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8').matchAll(/^\s*- alert: (\S+)$/gm)].map((m) => m[1]);
    const tests = readFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8');
    expect(alerts).toHaveLength(4);
    // A case that expects it to fire: its alertname followed by a non-empty exp_alerts list.
    for (const alert of alerts) expect(tests).toMatch(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`));
  });

  it.each([
    ['the ack budget raised to 200 ms', /> 0\.1$/m, '> 0.2'],
    ['the pending age limit raised to 30 min', /oldest_pending_seconds\) > 900$/m, 'oldest_pending_seconds) > 1800'],
    ['suspensions counted only above 1', /suspended_connections\) > 0$/m, 'suspended_connections) > 1'],
    ['failing lists tolerated for an hour', /failing_seconds\) > 900$/m, 'failing_seconds) > 3600'],
  ])('fails the unit tests with %s (they can fail)', async (_what, pattern, replacement) => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-alerts-'));
    try {
      const rules = readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8');
      expect(rules).toMatch(pattern);
      writeFileSync(join(dir, 'alerts.yml'), rules.replace(pattern, replacement));
      copyFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
      const result = await promtool('test', 'rules', join(dir, 'alerts.test.yml'));
      expect(result.output).toMatch(/FAILED/);
      expect(result.code).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Grafana dashboard (deploy/grafana/audience-bridge.json)', () => {
  it('is a dashboard whose every panel queries the chosen Prometheus with an expression', () => {
    const dashboard = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'deploy/grafana/audience-bridge.json'), 'utf8'));
    expect(dashboard).toMatchObject({ uid: 'audience-bridge', templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }] } });
    const panels = (dashboard.panels as { id: number; type: string; datasource?: unknown; targets?: { expr: string }[] }[]).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(10);
    expect(new Set(dashboard.panels.map((p: { id: number }) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of panels) {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.expr).toMatch(/audience_bridge_/);
    }
  });
});
