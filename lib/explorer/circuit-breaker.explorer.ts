import { type CallHandler, type ExecutionContext, Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { CircuitBreakerConfigError, type ConfigProblem, isObject } from '../core/index.js';
import { CIRCUIT_BREAKER_DECLARATIONS, CIRCUIT_BREAKER_LOGGER_CONTEXT } from '../constants.js';
import type { CircuitBreakerDecoratorOptions } from '../decorators/layers.js';
import { OpenErrorMapper } from '../interceptors/open-error.mapping.js';
import { type ProtectedHandler, ProtectedHandlers } from '../interceptors/protected-handlers.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';
import { type AnyFunction, BreakerCall, type LayerFallback, type ReturnKind } from './breaker-call.js';
import type { CircuitBreakerDeclarations, DecoratedMethod } from './circuit-breaker.declarations.js';
import { EXPLORER_EXPECTED, requestScopedWarning } from './explorer.messages.js';
import { wrapRetryLayer } from './retry.wrapper.js';

/** The innermost layer of a handler: the handler itself, as Nest's interceptor chain runs it. */
const callHandler: AnyFunction = (_context: ExecutionContext, next: CallHandler) => next.handle();

/** What a method returns, from its declared return type or its being `async`. */
function returnKindOf(prototype: object, methodName: string, fn: AnyFunction): ReturnKind {
  const declared = Reflect.getMetadata('design:returntype', prototype, methodName) as { prototype?: Record<string, unknown> } | undefined;
  const proto = declared?.prototype;
  // Duck-typed, so that an Observable class of another rxjs copy is recognised too.
  if (proto !== undefined && typeof proto.subscribe === 'function' && typeof proto.lift === 'function') return 'observable';
  if (declared === (Promise as unknown) || Object.prototype.toString.call(fn) === '[object AsyncFunction]') return 'promise';
  return 'auto';
}

function fallbackOf(fallback: CircuitBreakerDecoratorOptions['fallback']): LayerFallback | null {
  if (typeof fallback === 'function') return (self, error, args) => fallback.call(self, error, ...Array.from(args));
  if (typeof fallback === 'string') return (self, error, args) => (self as Record<string, AnyFunction>)[fallback]!(error, ...Array.from(args));
  return null;
}

/** Keeps every metadata key (and the name) of the original method on its wrapper. */
function copyMetadata(original: AnyFunction, wrapper: AnyFunction): void {
  for (const key of Reflect.getMetadataKeys(original)) Reflect.defineMetadata(key, Reflect.getMetadata(key, original), wrapper);
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
}

/**
 * Applies the layers of decorated methods at bootstrap: a provider's method is replaced, on its
 * instance, by a wrapper (once; the prototype is left alone); a route, RPC or WebSocket handler is
 * registered for `CircuitBreakerInterceptor`. Request-scoped providers get a warning and are not
 * wrapped.
 */
@Injectable()
export class CircuitBreakerExplorer implements OnModuleInit {
  private readonly logger = new Logger(CIRCUIT_BREAKER_LOGGER_CONTEXT);

  constructor(
    @Inject(CIRCUIT_BREAKER_DECLARATIONS) private readonly declarations: CircuitBreakerDeclarations,
    private readonly registry: CircuitBreakerRegistry,
    private readonly mapper: OpenErrorMapper,
    private readonly handlers: ProtectedHandlers,
  ) {}

  async onModuleInit(): Promise<void> {
    this.declarations.scan(); // instances of factory providers exist only now
    const problems: ConfigProblem[] = [];
    const transports = new Set<'rpc' | 'ws'>();
    const wrapped = new Set<object>();
    for (const { wrapper, className, prototype, methods } of this.declarations.classes) {
      const isStatic = wrapper.isDependencyTreeStatic();
      const plain = methods.filter((m) => m.transport === null);
      if (!isStatic && plain.length > 0) this.logger.warn(requestScopedWarning(className, plain.map((m) => m.methodName)));
      const instances = !isStatic ? []
        : wrapper.isTransient ? wrapper.getStaticTransientInstances().map((i) => i?.instance as unknown).filter(isObject)
        : [wrapper.instance as unknown].filter(isObject);
      for (const method of methods) {
        if (method.transport !== null) {
          if (method.transport === 'rpc' || method.transport === 'ws') transports.add(method.transport);
          this.protectHandler(prototype, method, isStatic ? instances[0] : undefined, problems);
        }
      }
      for (const instance of instances) {
        if (wrapped.has(instance)) continue;
        wrapped.add(instance);
        for (const method of plain) {
          const wrapperFn = this.compose(method, method.fn, returnKindOf(prototype, method.methodName, method.fn), problems);
          copyMetadata(method.fn, wrapperFn);
          Object.defineProperty(instance, method.methodName, { value: wrapperFn, writable: true, configurable: true, enumerable: false });
        }
      }
    }
    if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
    await Promise.all([...transports].map((transport) => this.mapper.load(transport)));
  }

  private protectHandler(prototype: object, method: DecoratedMethod, instance: object | undefined, problems: ConfigProblem[]): void {
    const namedFallback = method.layers.find((l) => l.kind === 'breaker' && typeof l.options?.fallback === 'string');
    if (instance === undefined && namedFallback !== undefined) {
      problems.push({ path: `${method.where} @CircuitBreaker.fallback`, expected: EXPLORER_EXPECTED.fallbackOnRequestScoped, value: (namedFallback.options as CircuitBreakerDecoratorOptions).fallback });
      return;
    }
    const composed = this.compose(method, callHandler, 'observable', problems);
    const handle: ProtectedHandler = (context, next) => composed.call(instance, context, next) as Observable<unknown>;
    this.handlers.set((prototype as { constructor: object }).constructor, method.fn, handle);
  }

  /** Wraps `inner` in the method's layers, innermost first. */
  private compose(method: DecoratedMethod, inner: AnyFunction, kind: ReturnKind, problems: ConfigProblem[]): AnyFunction {
    let fn = inner;
    method.layers.forEach((layer, i) => {
      try {
        if (layer.kind === 'retry') {
          fn = wrapRetryLayer(fn, layer.options, { className: method.className, methodName: method.methodName });
        } else {
          fn = new BreakerCall(fn, this.registry.getOrCreate(method.names[i]!), fallbackOf(layer.options?.fallback), kind).toFunction();
        }
      } catch (error) {
        if (!(error instanceof CircuitBreakerConfigError)) throw error;
        // Retry problems name the method already; breaker ones name the breaker.
        problems.push(...error.problems.map((p) => (layer.kind === 'retry' ? p : { ...p, path: `${method.where} @CircuitBreaker: ${p.path}` })));
      }
    });
    return fn;
  }
}
