/**
 * KWOK stages for {@link ControlPlaneOptions.kwokStages}: KWOK's own pod stages (read from the
 * KWOK module in the Go module cache, the source `npm run e2e:build` compiled), with the pods of
 * KEDA's ScaledJobs taken out of them and held instead: such a pod becomes Running but not Ready,
 * turns Ready once the test annotates it {@link HELD_POD_ANNOTATIONS.ready}, and Succeeds once
 * annotated {@link HELD_POD_ANNOTATIONS.complete}. Every other pod goes through KWOK's built-in
 * stages unchanged (Running and Ready at once; a Job's pod Succeeds at once), and the Node stages
 * stay KWOK's built-in ones, since only Pod stages are given.
 *
 * Why: KWOK alone marks a pod Ready the moment it runs, before any consumer could have claimed an
 * event, which is exactly the state KEDA's `pendingPodConditions` must see as pending.
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import * as yaml from 'js-yaml';
import type { ControlPlaneOptions } from './control-plane';
import { COMPONENTS, MODULES_DIR } from '../build/components';

/** The label KEDA puts on the pod template of every Job it creates for a ScaledJob: what marks a pod as held. */
export const SCALED_JOB_POD_LABEL = 'scaledjob.keda.sh/name';

/** Annotations a test sets on a held pod (value "true") to move it on. */
export const HELD_POD_ANNOTATIONS = {
  /** Ready and ContainersReady turn True (the consumer holds its event). */
  ready: 'e2e.redis-keda.dev/ready',
  /** The containers exit 0 and the pod Succeeds (the consumer acknowledged and exited). */
  complete: 'e2e.redis-keda.dev/complete',
} as const;

/** KWOK's built-in pod stages, the ones its `kwok` command uses when the configuration has no Pod stage. */
const BUILT_IN_POD_STAGES = ['pod-ready', 'pod-complete', 'pod-delete'] as const;

type Stage = { metadata: { name: string }; spec: { selector: { matchExpressions?: object[]; matchAnnotations?: Record<string, string> }; [key: string]: unknown } };

/** The folder of sigs.k8s.io/kwok in the Go module cache (downloaded by e2e:build). */
export function kwokModuleDir(): string {
  const kwok = COMPONENTS.find((c) => c.module === 'kwok');
  if (!kwok) throw new Error('no kwok component in e2e/build/components.ts');
  const out = execFileSync('go', ['mod', 'download', '-json', `sigs.k8s.io/kwok@${kwok.version}`], { cwd: join(MODULES_DIR, 'kwok'), encoding: 'utf8' });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

/** KWOK's built-in pod stages as its source has them (kustomize/stage/pod/fast). */
export function builtInPodStages(moduleDir = kwokModuleDir()): Stage[] {
  return BUILT_IN_POD_STAGES.map((name) => yaml.load(readFileSync(join(moduleDir, 'kustomize', 'stage', 'pod', 'fast', `${name}.yaml`), 'utf8')) as Stage);
}

const HELD = `.metadata.labels["${SCALED_JOB_POD_LABEL}"]`;
const notDeleted = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };
const held = { key: HELD, operator: 'Exists' };
const running = { key: '.status.phase', operator: 'In', values: ['Running'] };

/** A Pod stage of ours: when `matchExpressions` (and annotations) hold, patch the status with `statusTemplate`. */
function podStage(name: string, selector: Stage['spec']['selector'], statusTemplate: string): Stage {
  return {
    metadata: { name },
    spec: { resourceRef: { apiGroup: 'v1', kind: 'Pod' }, selector, next: { statusTemplate } },
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
  } as Stage;
}

/** Container statuses, one per container of the pod, in the state given (a YAML fragment under `state:`). */
function containerStatuses(ready: boolean, state: string): string {
  return [
    'containerStatuses:',
    '{{ range .spec.containers }}',
    '- image: {{ .image | Quote }}',
    '  name: {{ .name | Quote }}',
    `  ready: ${ready}`,
    '  restartCount: 0',
    `  started: ${!state.startsWith('terminated')}`,
    '  state:',
    ...state.split('\n').map((line) => `    ${line}`),
    '{{ end }}',
  ].join('\n');
}

/** Conditions merged by type (a strategic merge patch), each to `status`. */
function conditions(entries: Record<string, 'True' | 'False'>): string {
  return ['conditions:', ...Object.entries(entries).flatMap(([type, status]) => [`- lastTransitionTime: {{ Now | Quote }}`, `  status: "${status}"`, `  type: ${type}`])].join(
    '\n',
  );
}

/** The stages that hold ScaledJob pods, for pods labelled {@link SCALED_JOB_POD_LABEL}. */
export function heldScaledJobPodStages(): Stage[] {
  const annotated = (key: string) => ({ key: `.metadata.annotations["${key}"]`, operator: 'In', values: ['true'] });
  return [
    // Bound to a node, not started yet: Running, not Ready (a consumer that has not claimed its event).
    podStage(
      'held-pod-running',
      { matchExpressions: [notDeleted, held, { key: '.status.podIP', operator: 'DoesNotExist' }] },
      [
        conditions({ Initialized: 'True', Ready: 'False', ContainersReady: 'False' }),
        containerStatuses(false, 'running:\n  startedAt: {{ Now | Quote }}'),
        'hostIP: {{ NodeIPWith .spec.nodeName | Quote }}',
        'podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}',
        'phase: Running',
        'startTime: {{ Now | Quote }}',
      ].join('\n'),
    ),
    // Annotated ready (and not complete), not Ready yet: Ready.
    podStage(
      'held-pod-ready',
      {
        matchExpressions: [
          notDeleted,
          held,
          running,
          annotated(HELD_POD_ANNOTATIONS.ready),
          { key: `.metadata.annotations["${HELD_POD_ANNOTATIONS.complete}"]`, operator: 'DoesNotExist' },
          { key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: 'NotIn', values: ['True'] },
        ],
      },
      [conditions({ Ready: 'True', ContainersReady: 'True' }), containerStatuses(true, 'running:\n  startedAt: {{ Now | Quote }}')].join('\n'),
    ),
    // Annotated complete while running: every container exits 0, the pod Succeeds.
    podStage(
      'held-pod-complete',
      { matchExpressions: [notDeleted, held, running, annotated(HELD_POD_ANNOTATIONS.complete)] },
      [
        conditions({ Ready: 'False', ContainersReady: 'False' }),
        containerStatuses(false, 'terminated:\n  exitCode: 0\n  reason: Completed\n  startedAt: {{ Now | Quote }}\n  finishedAt: {{ Now | Quote }}'),
        'phase: Succeeded',
      ].join('\n'),
    ),
  ];
}

/**
 * What to pass as `kwokStages`: KWOK's built-in pod stages for every pod but the ScaledJobs' (the
 * built-in `pod-ready` and `pod-complete` get one more expression excluding them; `pod-delete`
 * applies to all), plus the held stages for those. The selectors are disjoint, so KWOK never has
 * to choose at random between two matching stages.
 */
export function holdScaledJobPods(moduleDir = kwokModuleDir()): NonNullable<ControlPlaneOptions['kwokStages']> {
  const builtIn = builtInPodStages(moduleDir).map((stage) => {
    if (stage.metadata.name === 'pod-delete') return stage;
    const selector = stage.spec.selector;
    return { ...stage, spec: { ...stage.spec, selector: { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), { key: HELD, operator: 'DoesNotExist' }] } } };
  });
  return [...builtIn, ...heldScaledJobPodStages()];
}
