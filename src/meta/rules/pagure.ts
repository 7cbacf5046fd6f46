import { arr, get, id, obj, person, str, strs, type Obj } from '../fields.js';
import { fasFromEmail } from '../names.js';
import type { Derived, RuleContext } from './types.js';

/**
 * Pagure (pagure.io, and dist-git at src.fedoraproject.org which runs Pagure and
 * publishes under org.fedoraproject). The person is the agent that acted; a
 * commit without an agent is attributed through a Fedora e-mail address.
 */

function baseUrl(ctx: RuleContext): string {
  if (ctx.topic.startsWith('org.fedoraproject.')) {
    return ctx.env === 'stg' ? 'https://src.stg.fedoraproject.org' : 'https://src.fedoraproject.org';
  }
  return 'https://pagure.io';
}

/** "name", "ns/name", or "fork/user/ns/name" for forks, as Pagure's URLs spell it. */
function projectPath(project: Obj | undefined): string | undefined {
  const name = str(project, 'name');
  if (name === undefined) return undefined;
  const ns = str(project, 'namespace');
  let path = ns !== undefined ? `${ns}/${name}` : name;
  if (get(project, 'parent') !== null && get(project, 'parent') !== undefined) {
    const owner = person(project, 'user');
    if (owner !== undefined) path = `fork/${owner}/${path}`;
  }
  return path;
}

function lastId(list: readonly unknown[]): string | undefined {
  return list.length > 0 ? id(list[list.length - 1], 'id') : undefined;
}

function link(ctx: RuleContext, base: string): string | undefined {
  const { msg, sub } = ctx;
  // PR assignment topics ("request.*") carry the pull request under "request".
  const pr = obj(msg, 'pullrequest') ?? obj(msg, 'pull_request') ?? obj(msg, 'request');
  const project = projectPath(obj(msg, 'project') ?? obj(pr, 'project'));

  if (sub.startsWith('issue')) {
    const issueId = id(msg, 'issue', 'id');
    if (project === undefined || issueId === undefined) return base;
    const url = `${base}/${project}/issue/${issueId}`;
    if (!sub.includes('comment')) return url;
    const commentId = id(msg, 'comment', 'id') ?? lastId(arr(msg, 'issue', 'comments'));
    return commentId !== undefined ? `${url}#comment-${commentId}` : url;
  }
  if (sub.startsWith('pull-request') || sub.startsWith('request')) {
    const prId = id(pr, 'id');
    if (project === undefined || prId === undefined) return base;
    const url = `${base}/${project}/pull-request/${prId}`;
    if (!sub.includes('comment')) return url;
    const commentId = lastId(arr(pr, 'comments')) ?? id(msg, 'comment', 'id');
    return commentId !== undefined ? `${url}#comment-${commentId}` : url;
  }
  if (sub.startsWith('project')) {
    if (sub.startsWith('project.deleted')) return base;
    return project !== undefined ? `${base}/${project}` : base;
  }
  if (sub.startsWith('commit.flag')) {
    const repo = projectPath(obj(msg, 'repo'));
    const commit = str(msg, 'flag', 'commit_hash') ?? str(msg, 'commit');
    return repo !== undefined && commit !== undefined ? `${base}/${repo}/c/${commit}` : base;
  }
  if (sub.startsWith('git.receive')) {
    const commit = obj(msg, 'commit');
    if (commit !== undefined) {
      const repo = projectPath(obj(commit, 'repo'));
      const rev = str(commit, 'rev');
      return repo !== undefined && rev !== undefined ? `${base}/${repo}/${rev}` : base;
    }
    const repo = projectPath(obj(msg, 'repo'));
    const branch = str(msg, 'branch')?.replace('refs/heads/', '');
    return repo !== undefined && branch !== undefined ? `${base}/${repo}/branch/${branch}` : base;
  }
  return base;
}

/** The project a subtitle names: the message's, or its pull request's. */
function projectOf(msg: Obj): string {
  return projectPath(obj(msg, 'project') ?? obj(msg, 'pullrequest', 'project')) ?? '(unknown)';
}

/** "project#id" of the ticket a subtitle names. */
function ticketOf(msg: Obj): string {
  return `${projectOf(msg)}#${id(msg, 'issue', 'id') ?? '?'}`;
}

function prIdOf(msg: Obj): string {
  return id(msg, 'pullrequest', 'id') ?? '?';
}

function tagsOf(msg: Obj): string {
  return strs(msg, 'tags').join(' and ');
}

/**
 * Each part read only by the lines that show it: most pagure topics have no subtitle, and the
 * parts (two project paths, ids, tags) read up front for every one were a sixth of this rule
 * set's cost.
 */
function subtitle(ctx: RuleContext, user: string | undefined): string | undefined {
  const { msg, sub } = ctx;
  const who = user ?? 'someone';
  switch (sub) {
    case 'project.new':
      return `${who} created a new project "${projectOf(msg)}"`;
    case 'project.deleted':
      return `${who} deleted the project "${str(msg, 'project', 'name') ?? projectOf(msg)}"`;
    case 'project.forked':
      return `${who} forked ${str(msg, 'project', 'parent', 'name') ?? ''} to ${projectOf(msg)}`;
    case 'issue.new':
      return `${who} opened a new ticket ${ticketOf(msg)}: "${str(msg, 'issue', 'title') ?? ''}"`;
    case 'issue.comment.added':
      return `${who} commented on ticket ${ticketOf(msg)}: "${str(msg, 'issue', 'title') ?? ''}"`;
    case 'issue.comment.edited':
      return `${who} edited a comment on ticket ${ticketOf(msg)}: "${str(msg, 'issue', 'title') ?? ''}"`;
    case 'issue.tag.added':
      return `${who} tagged ticket ${ticketOf(msg)}: ${tagsOf(msg)}`;
    case 'issue.tag.removed':
      return `${who} removed the ${tagsOf(msg)} tags from ticket ${ticketOf(msg)}`;
    case 'issue.assigned.reset':
      return `${who} reset the assignee of ticket ${ticketOf(msg)}`;
    case 'pull-request.new':
      return `${who} opened pull request #${prIdOf(msg)} on ${projectOf(msg)}: ${str(msg, 'pullrequest', 'title') ?? ''}`;
    case 'pull-request.comment.added':
      return `${who} commented on pull-request#${prIdOf(msg)} of project "${projectOf(msg)}"`;
    case 'pull-request.rebased':
      return `Pull-request #${prIdOf(msg)} has been rebased`;
    default:
      return undefined;
  }
}

export function pagure(ctx: RuleContext): Derived {
  const { msg, sub } = ctx;
  let user = person(msg, 'agent');
  if (user === undefined && sub.startsWith('git.receive')) {
    user = fasFromEmail(str(msg, 'commit', 'email'));
  }
  return {
    usernames: [user],
    agent: user,
    link: link(ctx, baseUrl(ctx)),
    subtitle: subtitle(ctx, user),
  };
}
