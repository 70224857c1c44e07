import { existsSync } from 'node:fs';
import { AppError, notFound } from '../../machines/app-error.ts';
import { AGENT_IDS, type AgentId } from '../../machines/job-spec.ts';
import type { AgentInfo, AgentModel } from '../../api/contract.ts';
import type { AgentsPort } from '../../api/ports.ts';
import { agentStatus, type AgentStatusOptions } from './agent-status.ts';
import { listClaudeModels } from './claude-models.ts';
import { loadConfig } from '../config.ts';
import { NOT_AUTHENTICATED, withCopilotClient } from './copilot-probe.ts';

export interface AgentsPortDeps {
  /** config.json, read at each probe so `agents.<id>.path` edits apply without a restart. */
  configFile?: string;
  /** The environment jobs run with (default: this process's). */
  env?: Record<string, string | undefined>;
  statusTtlMs?: number;
  modelsTtlMs?: number;
  timeoutMs?: number;
  now?: () => number;
}

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

const isAgent = (id: string): id is AgentId => (AGENT_IDS as readonly string[]).includes(id);

/** The supervisor side of `GET /api/agents[/:id/models]`: probes with short-lived caches, errors with stable codes. */
export function createAgentsPort(deps: AgentsPortDeps = {}): AgentsPort {
  const now = deps.now ?? Date.now;
  const statusTtl = deps.statusTtlMs ?? 30_000;
  const modelsTtl = deps.modelsTtlMs ?? 10 * 60_000;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const statuses = new Map<AgentId, Cached<AgentInfo>>();
  const models = new Map<AgentId, Cached<AgentModel[]>>();

  const options = (): AgentStatusOptions & { env: Record<string, string | undefined> } => {
    const env = deps.env ?? process.env;
    let agentPaths: AgentStatusOptions['agentPaths'] = {};
    try {
      if (deps.configFile && existsSync(deps.configFile)) {
        const { agents } = loadConfig(deps.configFile).config;
        agentPaths = { claude: agents.claude.path, copilot: agents.copilot.path };
      }
    } catch {
      // A config broken after startup: the server keeps the paths it started with in the env.
    }
    return { env, agentPaths, timeoutMs };
  };

  /** One probe at a time per key; a failed one is not remembered. */
  function cached<T>(map: Map<AgentId, Cached<T>>, id: AgentId, ttl: number, load: () => Promise<T>): Promise<T> {
    const hit = map.get(id);
    if (hit && now() - hit.at < ttl) return hit.value;
    const value = load();
    map.set(id, { at: now(), value });
    value.catch(() => {
      if (map.get(id)?.value === value) map.delete(id);
    });
    return value;
  }

  const status = (id: AgentId) => cached(statuses, id, statusTtl, () => agentStatus(id, options()));

  async function loadModels(info: AgentInfo): Promise<AgentModel[]> {
    const { env } = options();
    try {
      if (info.id === 'claude') return await listClaudeModels({ path: info.path, env, timeoutMs });
      const list = await withCopilotClient({ path: info.path, env, timeoutMs }, (c) => c.listModels());
      return list.map((m) => ({ id: m.id, name: m.name || m.id }));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (info.id === 'copilot' && NOT_AUTHENTICATED.test(message)) throw notAuthenticated(info);
      throw new AppError('unavailable', 'AGENT_UNAVAILABLE', `could not list ${info.name} models: ${message}`, { details: { agent: info.id } });
    }
  }

  return {
    list: () => Promise.all(AGENT_IDS.map(status)),
    models: async (id) => {
      if (!isAgent(id)) throw notFound('AGENT_NOT_FOUND', `no agent "${id}"; agents: ${AGENT_IDS.join(', ')}`);
      const info = await status(id);
      if (!info.available)
        throw new AppError('unavailable', 'AGENT_UNAVAILABLE', `${info.name} is not available${info.hint ? `: ${info.hint}` : ''}`, { details: { agent: id, ...(info.hint ? { hint: info.hint } : {}) } });
      if (info.authenticated === false) throw notAuthenticated(info);
      return cached(models, id, modelsTtl, () => loadModels(info));
    },
  };
}

function notAuthenticated(info: AgentInfo): AppError {
  return new AppError('conflict', 'AGENT_NOT_AUTHENTICATED', `${info.name} is not signed in${info.hint ? `: ${info.hint}` : ''}`, {
    details: { agent: info.id, ...(info.hint ? { hint: info.hint } : {}) },
  });
}
