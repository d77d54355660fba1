import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { renderRuntimeDeployment, renderWorkerDeployment } from '../../../constructs/private/runtime-deployment';
import { Env, HEALTH_PATH, METRICS_PORT, READY_PATH, RUNTIME_UID } from '../../../runtime/contract';
import { envOf, only, synth, testChart } from '../helpers';

describe('renderRuntimeDeployment', () => {
  test('one restricted container of the command, its env then METRICS_PORT, probes on what it serves, pull secrets', () => {
    const chart = testChart();
    const { container } = renderRuntimeDeployment(
      chart,
      { name: 'p', imagePullSecrets: ['regcred'] },
      {
        container: 'producer',
        args: ['celery-send', '--forever'],
        replicas: 1,
        env: { A: kplus.EnvValue.fromValue('a') },
      },
    );
    const d = only(synth(chart), 'Deployment');
    const pod = d.spec.template.spec;
    expect(d.spec.replicas).toBe(1);
    expect(container.name).toBe('producer');
    expect(pod.containers[0].env.map((e: any) => e.name)).toEqual(['A', Env.METRICS_PORT]);
    expect(pod.containers[0].args).toEqual(['celery-send', '--forever']);
    expect(pod.containers[0].resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } });
    expect(pod.containers[0].readinessProbe.httpGet).toMatchObject({ path: READY_PATH, port: METRICS_PORT });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: RUNTIME_UID, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.terminationGracePeriodSeconds).toBe(30); // cdk8s-plus's default, unless asked
  });

  test('a bad image is rejected naming the prop', () => {
    expect(() => renderRuntimeDeployment(testChart(), { image: 'redis-keda' }, { container: 'c', args: [], env: {} })).toThrow("'image'");
  });
});

describe('renderWorkerDeployment', () => {
  test("the command's env comes first, then grace and metrics port, then the user's env, which wins", () => {
    const chart = testChart();
    const worker = renderWorkerDeployment(
      chart,
      {
        name: 'w',
        grace: Duration.seconds(20),
        envVariables: { A: kplus.EnvValue.fromValue('user'), B: kplus.EnvValue.fromValue('user') },
      },
      { component: 'thing', args: ['thing', '--x'], env: { A: kplus.EnvValue.fromValue('command'), C: kplus.EnvValue.fromValue('command') } },
    );
    const d = only(synth(chart), 'Deployment');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(c.env.map((e: any) => e.name)).toEqual(['A', 'C', Env.GRACE_SECONDS, Env.METRICS_PORT, 'B']);
    expect(envOf(c)).toMatchObject({ A: 'user', C: 'command', [Env.GRACE_SECONDS]: '20' });
    expect(c.args).toEqual(['thing', '--x']);
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: RUNTIME_UID });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.readinessProbe.httpGet).toMatchObject({ path: READY_PATH, port: METRICS_PORT });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: HEALTH_PATH, port: METRICS_PORT });
    expect(d.spec.template.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'w', 'app.kubernetes.io/component': 'thing' });
    expect(worker.grace.toSeconds()).toBe(20);
    expect(worker.podMonitor).toBeUndefined();
  });

  test.each([
    ['grace', { grace: Duration.millis(1500) }, "'grace'"],
    ['replicas', { replicas: -1 }, "'replicas' (-1)"],
    ['name', { name: 'Not_A_Name' }, '\'name\' ("Not_A_Name")'],
  ])('rejects a bad %s, naming it', (_prop, props, message) => {
    const chart = testChart();
    expect(() => renderWorkerDeployment(chart, props, { component: 'c', args: [], env: {} })).toThrow(message);
  });
});
