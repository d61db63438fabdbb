import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DescFile } from '@bufbuild/protobuf';

/**
 * The comments of the .proto sources, keyed by what they document: `rpc <Service.Method>`,
 * `message <type>`, `enum <type>`, `field <type>.<proto name>`.
 */
export type ProtoComments = ReadonlyMap<string, string>;

export const NO_COMMENTS: ProtoComments = new Map();

const BLOCK = /\/\*\*\n((?:[ \t]*\*.*\n)*?)[ \t]*\*\/\n/g;
const GENERATED = /@generated from (rpc|service|message|enum|oneof|field:|enum value:) ?(.+)$/m;

/**
 * The descriptors embedded in @zitadel/proto carry the options (openapiv2 annotations) but not
 * the source comments, and ZITADEL documents most v2 methods in comments only; protoc-gen-es
 * copies every comment into the package's declaration files, each tagged with the element it
 * came from (`@generated from rpc zitadel.user.v2.UserService.AddOTPEmail`). Read from there,
 * they are the same text protoc-gen-openapiv2 turns into summaries and descriptions. A file
 * that cannot be found or read adds nothing: the document is then built from the options alone.
 */
export function protoCommentsOf(files: Iterable<DescFile>): ProtoComments {
  const comments = new Map<string, string>();
  const root = zitadelProtoRoot();
  if (!root) return comments;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(`${root}/types/${file.name}_pb.d.ts`, 'utf8');
    } catch {
      continue;
    }
    parseDeclarationComments(text, comments);
  }
  return comments;
}

/** Adds the tagged comments of one declaration file to `into` (the first text of a key wins). */
export function parseDeclarationComments(text: string, into: Map<string, string>): void {
  let message: string | undefined;
  for (const block of text.matchAll(BLOCK)) {
    const lines = block[1]!.split('\n').map((l) => l.replace(/^[ \t]*\* ?/, ''));
    const body = lines.join('\n');
    const tag = GENERATED.exec(body);
    if (!tag) continue;
    const [, kind, subject] = tag as unknown as [string, string, string];
    const comment = body
      .slice(0, tag.index)
      .replace(/\n{3,}/g, '\n\n')
      .trim();
    let key: string | undefined;
    if (kind === 'message') {
      message = subject.trim();
      key = `message ${message}`;
    } else if (kind === 'field:' && message) {
      const name = /(\w+) = \d+;/.exec(subject)?.[1];
      if (name) key = `field ${message}.${name}`;
    } else if (kind === 'rpc' || kind === 'service' || kind === 'enum') {
      key = `${kind} ${subject.trim()}`;
    }
    if (key && comment && !into.has(key)) into.set(key, comment);
  }
}

/**
 * protoc-gen-openapiv2's reading of a comment: with several paragraphs the first is the
 * summary and the rest the description; a single paragraph is a summary only when it does
 * not end with a period.
 */
export function summaryAndDescription(comment: string | undefined): { summary?: string; description?: string } {
  if (!comment) return {};
  const paragraphs = comment.split(/\n\s*\n/);
  if (paragraphs.length > 1) return { summary: paragraphs[0]!.trim(), description: paragraphs.slice(1).join('\n\n').trim() };
  return comment.trimEnd().endsWith('.') ? { description: comment } : { summary: comment };
}

function zitadelProtoRoot(): string | undefined {
  try {
    // The "require" condition of the package's exports lands in <root>/cjs/...
    const entry = createRequire(import.meta.url).resolve('@zitadel/proto/zitadel/message_pb.js');
    const at = entry.lastIndexOf('/cjs/');
    return at < 0 ? undefined : entry.slice(0, at);
  } catch {
    return undefined;
  }
}
