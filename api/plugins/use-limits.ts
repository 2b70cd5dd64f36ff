// Static request limits with graphql-armor: depth, aliases, tokens, cost and directives,
// each rejected with its own extensions.code (DEPTH_LIMIT, ALIAS_LIMIT, ...) and treated
// like a validation error (HTTP 400 for application/graphql-response+json). Field
// suggestions ("did you mean ...") are blocked outside development.
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import type { GraphQLError, ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ApiError, type ErrorCode } from '../errors.js';
import type { ApiLimits } from '../limits.js';

/** armor's rejection -> our coded error: reported on the validation context, or thrown while parsing. */
function reject(code: ErrorCode) {
  return [(ctx: ValidationContext | null, error: GraphQLError) => {
    const coded = new ApiError(code, error.message.replace(/^Syntax Error: /, ''), { spec: true });
    if (ctx === null) throw coded;
    ctx.reportError(coded);
  }];
}

export function useLimits(limits: ApiLimits, options: { development: boolean }): Plugin {
  const armor = new EnvelopArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, propagateOnRejection: false, onReject: reject('DEPTH_LIMIT') },
    maxAliases: { n: limits.maxAliases, propagateOnRejection: false, onReject: reject('ALIAS_LIMIT') },
    maxTokens: { n: limits.maxTokens, propagateOnRejection: false, onReject: reject('TOKEN_LIMIT') },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true, propagateOnRejection: false, onReject: reject('COST_LIMIT') },
    maxDirectives: { n: limits.maxDirectives, propagateOnRejection: false, onReject: reject('DIRECTIVE_LIMIT') },
    blockFieldSuggestion: { enabled: !options.development },
  });
  const { plugins } = armor.protect();
  return { onPluginInit({ addPlugin }) { for (const p of plugins) addPlugin(p as Plugin); } };
}
