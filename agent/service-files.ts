/**
 * The files `swarmlet service install` writes: a hardened systemd unit (systemd-analyze
 * security rates it under 3.0) or an OpenWrt procd init script with a UCI config, plus the
 * agent's JSON config. Pure functions of the settings, so tests check exactly what lands.
 */

import { MALLOC_TUNABLES } from './malloc-tunables.js';

export interface ServiceSettings {
  /** Absolute path of node, and of the swarmlet entry script to run. */
  node: string;
  script: string;
  brokers: string[];
  trustedPublishers: string[];
  region: string;
  /** Where the agent keeps its key, outbox and caches. */
  dataDir: string;
  configFile: string;
  slots?: number;
}

export function agentConfigJson(s: ServiceSettings): string {
  const c: Record<string, unknown> = {
    brokers: s.brokers,
    region: s.region,
    keyFile: `${s.dataDir}/node.key`,
    dataDir: s.dataDir,
    trustedPublishers: s.trustedPublishers,
  };
  if (s.slots !== undefined) c.slots = s.slots;
  return JSON.stringify(c, null, 2) + '\n';
}

const q = (s: string) => (/^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`);

/**
 * systemd: a dynamic user (no account to create), the data folder as StateDirectory, the
 * config as ConfigurationDirectory, read-only everything else. Not MemoryDenyWriteExecute:
 * V8 compiles JavaScript and wasm to machine code at run time. No ProcSubset=pid: the
 * sensors read /proc/stat and /proc/meminfo. /dev/vchiq stays reachable (video group) for
 * vcgencmd on a Raspberry Pi.
 */
export function systemdUnit(s: ServiceSettings): string {
  if (!s.dataDir.startsWith('/var/lib/')) throw new Error('systemd: the data folder must be under /var/lib (it is the unit\'s StateDirectory)');
  const state = s.dataDir.slice('/var/lib/'.length);
  return `# Written by \`swarmlet service install\`. Settings: ${s.configFile}
[Unit]
Description=swarmlet edge compute agent
After=network-online.target time-sync.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${q(s.node)} ${q(s.script)} agent --config ${q(s.configFile)}
Environment=SWARMLET_LOG_FORMAT=json
# Blocks of 32 KiB and up get pages of their own, given back when freed (agent/malloc-tunables.ts).
Environment=GLIBC_TUNABLES=${MALLOC_TUNABLES}
# SIGTERM drains: stops bidding, finishes running tasks, flushes the outbox, exits 0.
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=5
Nice=10
# Idle the agent holds ~bare Node + 10 MB; a burst adds a runner process (~30-37 MB private with 2 slots; bench/agent).
MemoryMax=256M

DynamicUser=yes
SupplementaryGroups=video
StateDirectory=${state}
StateDirectoryMode=0700
UMask=0077
CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=yes
PrivateUsers=yes
PrivateTmp=yes
DevicePolicy=closed
DeviceAllow=/dev/vchiq rw
ProtectSystem=strict
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
PrivateIPC=yes

[Install]
WantedBy=multi-user.target
`;
}

/** OpenWrt: settings in UCI (/etc/config/swarmlet), turned into flags by the procd script. */
export function uciConfig(s: ServiceSettings): string {
  const lines = ['config agent \'agent\'', `\toption enabled '1'`, `\toption region '${s.region}'`, `\toption data_dir '${s.dataDir}'`];
  if (s.slots !== undefined) lines.push(`\toption slots '${s.slots}'`);
  for (const b of s.brokers) lines.push(`\tlist broker '${b}'`);
  for (const t of s.trustedPublishers) lines.push(`\tlist trusted_publisher '${t}'`);
  return lines.join('\n') + '\n';
}

export function procdScript(s: ServiceSettings): string {
  return `#!/bin/sh /etc/rc.common
# Written by \`swarmlet service install --kind procd\`. Settings: /etc/config/swarmlet (uci).
USE_PROCD=1
START=95
STOP=10

add_flag() { procd_append_param command "--$2" "$1"; }

start_service() {
  config_load swarmlet
  local enabled region data_dir slots
  config_get_bool enabled agent enabled 1
  [ "$enabled" = 1 ] || return 0
  config_get region agent region local
  config_get data_dir agent data_dir ${q(s.dataDir)}
  config_get slots agent slots
  mkdir -p "$data_dir" && chmod 700 "$data_dir"
  procd_open_instance
  procd_set_param command ${q(s.node)} ${q(s.script)} agent --region "$region" --data-dir "$data_dir" --key-file "$data_dir/node.key"
  [ -n "$slots" ] && procd_append_param command --slots "$slots"
  config_list_foreach agent broker add_flag broker
  config_list_foreach agent trusted_publisher add_flag trusted-publisher
  procd_set_param env SWARMLET_LOG_FORMAT=json GLIBC_TUNABLES=${MALLOC_TUNABLES}
  procd_set_param respawn 3600 5 5
  procd_set_param stdout 1
  procd_set_param stderr 1
  procd_set_param term_timeout 30
  procd_close_instance
}

service_triggers() {
  procd_add_reload_trigger swarmlet
}
`;
}
