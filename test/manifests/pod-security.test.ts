import { allContainers, restrictedViolations } from './pod-security';

/** A compliant pod spec; each test breaks one thing. */
function goodPod(): any {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    initContainers: [{ name: 'init', image: 'x:1', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    containers: [{ name: 'app', image: 'x:1', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    volumes: [
      { name: 'tmp', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'c' } },
      { name: 's', secret: { secretName: 's' } },
    ],
  };
}

function withApp(patch: (pod: any) => void): any {
  const pod = goodPod();
  patch(pod);
  return pod;
}

const hasViolation = (pod: unknown, fragment: string) => expect(restrictedViolations(pod)).toEqual(expect.arrayContaining([expect.stringContaining(fragment)]));

describe('restrictedViolations', () => {
  test('a compliant pod has none', () => {
    expect(restrictedViolations(goodPod())).toEqual([]);
  });

  test('container-level settings instead of pod-level ones are fine', () => {
    const pod = goodPod();
    pod.securityContext = {};
    for (const c of [...pod.containers, ...pod.initContainers]) {
      Object.assign(c.securityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } });
    }
    expect(restrictedViolations(pod)).toEqual([]);
  });

  test('NET_BIND_SERVICE is the one capability that may be added', () => {
    expect(
      restrictedViolations(
        withApp((p) => {
          p.containers[0].securityContext.capabilities.add = ['NET_BIND_SERVICE'];
        }),
      ),
    ).toEqual([]);
  });

  test('a missing or non-object pod spec is a violation', () => {
    expect(restrictedViolations(undefined)).toEqual(['pod spec is missing or not an object']);
    hasViolation({ securityContext: {} }, 'spec.containers is empty');
  });

  // GIVEN a compliant pod WHEN one field breaks the profile THEN the violation names it
  test.each<[string, (p: any) => void, string]>([
    [
      'container without seccomp (none on the pod)',
      (p) => {
        delete p.securityContext.seccompProfile;
      },
      'containers[0] "app": securityContext.seccompProfile.type must be RuntimeDefault or Localhost',
    ],
    [
      'seccomp on only one container',
      (p) => {
        delete p.securityContext.seccompProfile;
        p.containers[0].securityContext.seccompProfile = { type: 'RuntimeDefault' };
      },
      'initContainers[0] "init": securityContext.seccompProfile',
    ],
    [
      'container seccomp Unconfined overrides the pod',
      (p) => {
        p.containers[0].securityContext.seccompProfile = { type: 'Unconfined' };
      },
      'seccompProfile.type must be RuntimeDefault or Localhost (is "Unconfined")',
    ],
    [
      'pod seccomp Unconfined',
      (p) => {
        p.securityContext.seccompProfile.type = 'Unconfined';
      },
      'securityContext.seccompProfile.type must be RuntimeDefault or Localhost (is "Unconfined")',
    ],
    [
      'runAsNonRoot missing everywhere',
      (p) => {
        delete p.securityContext.runAsNonRoot;
      },
      'runAsNonRoot must be true (set it on the pod or on every container)',
    ],
    [
      'runAsNonRoot false on a container',
      (p) => {
        p.containers[0].securityContext.runAsNonRoot = false;
      },
      'containers[0] "app": securityContext.runAsNonRoot must be true when set',
    ],
    [
      'runAsNonRoot false on the pod',
      (p) => {
        p.securityContext.runAsNonRoot = false;
      },
      'securityContext.runAsNonRoot must be true when set',
    ],
    [
      'runAsUser missing everywhere (our rule)',
      (p) => {
        delete p.securityContext.runAsUser;
      },
      'runAsUser must be set to a non-zero UID',
    ],
    [
      'runAsUser 0 on a container',
      (p) => {
        p.containers[0].securityContext.runAsUser = 0;
      },
      'runAsUser must be a non-zero integer (is 0)',
    ],
    [
      'runAsUser 0 on the pod',
      (p) => {
        p.securityContext.runAsUser = 0;
      },
      'securityContext.runAsUser must be a non-zero integer',
    ],
    [
      'runAsUser not a number',
      (p) => {
        p.securityContext.runAsUser = '1000';
      },
      'runAsUser must be a non-zero integer (is "1000")',
    ],
    [
      'allowPrivilegeEscalation unset on an init container',
      (p) => {
        delete p.initContainers[0].securityContext.allowPrivilegeEscalation;
      },
      'initContainers[0] "init": securityContext.allowPrivilegeEscalation must be false',
    ],
    [
      'allowPrivilegeEscalation true',
      (p) => {
        p.containers[0].securityContext.allowPrivilegeEscalation = true;
      },
      'allowPrivilegeEscalation must be false',
    ],
    [
      'no securityContext on a container',
      (p) => {
        delete p.containers[0].securityContext;
      },
      'containers[0] "app": securityContext.capabilities.drop must contain ALL',
    ],
    [
      'capabilities not dropped',
      (p) => {
        p.containers[0].securityContext.capabilities.drop = ['NET_RAW'];
      },
      'capabilities.drop must contain ALL',
    ],
    [
      'capability added',
      (p) => {
        p.containers[0].securityContext.capabilities.add = ['SYS_ADMIN'];
      },
      'capabilities.add may only contain NET_BIND_SERVICE (has "SYS_ADMIN")',
    ],
    [
      'privileged',
      (p) => {
        p.containers[0].securityContext.privileged = true;
      },
      'privileged must be unset or false',
    ],
    [
      'hostNetwork',
      (p) => {
        p.hostNetwork = true;
      },
      'hostNetwork must be unset or false',
    ],
    [
      'hostPID',
      (p) => {
        p.hostPID = true;
      },
      'hostPID must be unset or false',
    ],
    [
      'hostIPC',
      (p) => {
        p.hostIPC = true;
      },
      'hostIPC must be unset or false',
    ],
    [
      'hostPath volume',
      (p) => {
        p.volumes.push({ name: 'h', hostPath: { path: '/var/run' } });
      },
      'volumes[3] "h": hostPath volumes are forbidden',
    ],
    [
      'volume type outside the allow-list',
      (p) => {
        p.volumes.push({ name: 'n', nfs: { server: 's', path: '/' } });
      },
      'volume type "nfs" is not allowed',
    ],
    [
      'hostPort',
      (p) => {
        p.containers[0].ports = [{ containerPort: 80, hostPort: 80 }];
      },
      'ports[0].hostPort must be unset or 0',
    ],
    [
      'procMount Unmasked',
      (p) => {
        p.containers[0].securityContext.procMount = 'Unmasked';
      },
      'procMount must be unset or Default',
    ],
    [
      'SELinux user',
      (p) => {
        p.securityContext.seLinuxOptions = { user: 'system_u' };
      },
      'seLinuxOptions.user must be unset',
    ],
    [
      'SELinux type',
      (p) => {
        p.containers[0].securityContext.seLinuxOptions = { type: 'spc_t' };
      },
      'seLinuxOptions.type "spc_t" is not allowed',
    ],
    [
      'unsafe sysctl',
      (p) => {
        p.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }];
      },
      'sysctl "kernel.msgmax" is not in the safe set',
    ],
    [
      'Windows HostProcess',
      (p) => {
        p.securityContext.windowsOptions = { hostProcess: true };
      },
      'windowsOptions.hostProcess must be unset or false',
    ],
    [
      'AppArmor Unconfined',
      (p) => {
        p.containers[0].securityContext.appArmorProfile = { type: 'Unconfined' };
      },
      'appArmorProfile.type must be RuntimeDefault or Localhost',
    ],
    [
      'ephemeral container without hardening',
      (p) => {
        p.ephemeralContainers = [{ name: 'debug', image: 'busybox:1' }];
      },
      'ephemeralContainers[0] "debug": securityContext.allowPrivilegeEscalation must be false',
    ],
  ])('%s', (_, patch, fragment) => {
    hasViolation(withApp(patch), fragment);
  });
});

describe('allContainers', () => {
  test('lists containers, init and ephemeral containers with labels', () => {
    const pod = withApp((p) => {
      p.ephemeralContainers = [{ name: 'dbg' }];
    });
    expect(allContainers(pod).map((c) => c.label)).toEqual(['containers[0] "app"', 'initContainers[0] "init"', 'ephemeralContainers[0] "dbg"']);
  });
});
