// Introspection on in development (GraphiQL, codegen), off in production, where the
// schema is not advertised: any __schema / __type query fails validation with
// INTROSPECTION_DISABLED.
import { NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ApiError } from '../errors.js';

function coded(context: ValidationContext) {
  // Run graphql's own rule against a context whose reportError re-labels its errors.
  const proxy = Object.create(context) as ValidationContext;
  proxy.reportError = (error) => context.reportError(new ApiError('INTROSPECTION_DISABLED', `introspection is disabled in production mode (${error.message})`, { spec: true }));
  return NoSchemaIntrospectionCustomRule(proxy);
}

export function useIntrospection(options: { enabled: boolean }): Plugin {
  if (options.enabled) return {};
  return { onValidate({ addValidationRule }) { addValidationRule(coded); } };
}
