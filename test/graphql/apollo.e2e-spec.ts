// GraphQL (code first, Apollo, over real HTTP): @CircuitBreaker on queries, mutations and field
// resolvers protects them as on controllers; an open circuit reaches the client as an error with
// extensions.code SERVICE_UNAVAILABLE, the breaker and the retry time, and Nest logs no ERROR for it;
// CircuitBreakerExceptionFilter as APP_FILTER keeps GraphQL answers well-formed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Controller, Get, Injectable, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Args, Field, GraphQLModule, ID, Mutation, ObjectType, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CircuitBreaker, CircuitBreakerExceptionFilter, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { CapturingLogger } from '../fixtures/observed-app.js';

@ObjectType()
class Product {
  @Field(() => ID)
  id!: string;
}

/** The dependency: fails while `failing` (every call, or those whose request starts with it), counts the calls that reach it. */
@Injectable()
class Catalog {
  failing: boolean | string = false;
  calls = 0;
  async fetch(what: string): Promise<string> {
    this.calls++;
    if (this.failing === true || (typeof this.failing === 'string' && what.startsWith(this.failing))) throw new Error(`catalog failed on ${what}`);
    return what;
  }
}

@Injectable()
class PricingService {
  constructor(private readonly catalog: Catalog) {}

  @CircuitBreaker('pricing', { failureThreshold: 2, resetTimeoutMs: 60_000 })
  async price(id: string): Promise<string> {
    return this.catalog.fetch(`price ${id}`);
  }
}

@Resolver(() => Product)
class ProductResolver {
  constructor(private readonly catalog: Catalog, private readonly pricing: PricingService) {}

  @Query(() => Product)
  @CircuitBreaker('catalog-query', { failureThreshold: 2, resetTimeoutMs: 60_000 })
  async product(@Args('id') id: string): Promise<Product> {
    await this.catalog.fetch(`product ${id}`);
    return { id };
  }

  @Mutation(() => Boolean)
  @CircuitBreaker('catalog-mutation', { failureThreshold: 2, resetTimeoutMs: 60_000 })
  async restock(@Args('id') id: string): Promise<boolean> {
    await this.catalog.fetch(`restock ${id}`);
    return true;
  }

  @ResolveField(() => String)
  @CircuitBreaker('catalog-field', { failureThreshold: 2, resetTimeoutMs: 60_000 })
  async name(@Parent() product: Product): Promise<string> {
    return this.catalog.fetch(`name ${product.id}`);
  }

  /** undecorated: the open circuit comes from the service it calls */
  @Query(() => String)
  async price(@Args('id') id: string): Promise<string> {
    return this.pricing.price(id);
  }
}

@Controller('http')
class HttpPriceController {
  constructor(private readonly pricing: PricingService) {}
  @Get('price')
  price() {
    return this.pricing.price('p1');
  }
}

describe('GraphQL with Apollo', () => {
  let app: INestApplication;
  let logger: CapturingLogger;
  let catalog: Catalog;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot(),
        // Field resolvers run interceptors only with fieldResolverEnhancers (a @nestjs/graphql option).
        GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, fieldResolverEnhancers: ['interceptors'] }),
      ],
      controllers: [HttpPriceController],
      providers: [Catalog, PricingService, ProductResolver, { provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter }],
    }).compile();
    logger = new CapturingLogger();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    catalog = app.get(Catalog);
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(() => {
    app.get(CircuitBreakerRegistry).resetAll();
    catalog.failing = false;
    logger.lines.length = 0;
  });

  const gql = (query: string) => request(app.getHttpServer()).post('/graphql').send({ query });
  const errorLines = () => logger.at('error').filter((line) => !line.includes('→ OPEN')); // the transition line is logged once, by design

  it('opens a decorated query, then answers without running the resolver, with the breaker in extensions', async () => {
    catalog.failing = true;
    for (let i = 0; i < 2; i++) expect((await gql('{ product(id: "p1") { id } }').expect(200)).body.errors[0].message).toMatch(/catalog failed/);
    expect(app.get(CircuitBreakerRegistry).get('catalog-query')!.state).toBe('open');
    const calls = catalog.calls;
    logger.lines.length = 0;
    const res = await gql('{ product(id: "p1") { id } }').expect(200);
    expect(catalog.calls).toBe(calls);
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', breaker: 'catalog-query', circuit_state: 'open', retry_after: 60 });
    expect(res.body.errors[0].extensions.retry_after_ms).toBeGreaterThan(59_000);
    expect(errorLines()).toEqual([]);
  });

  it('protects mutations and field resolvers the same way', async () => {
    catalog.failing = true;
    for (let i = 0; i < 2; i++) await gql('mutation { restock(id: "p1") }').expect(200);
    const mutation = await gql('mutation { restock(id: "p1") }').expect(200);
    expect(mutation.body.errors[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', breaker: 'catalog-mutation' });
    catalog.failing = false;
    await gql('{ product(id: "p2") { id name } }').expect(200); // closes nothing: the field resolver succeeds
    catalog.failing = 'name'; // only the field resolver's requests fail
    for (let i = 0; i < 2; i++) await gql('{ product(id: "p2") { id name } }').expect(200);
    catalog.failing = false;
    const calls = catalog.calls;
    const field = await gql('{ product(id: "p2") { id name } }').expect(200);
    expect(catalog.calls).toBe(calls + 1); // the query ran, the field resolver did not
    expect(field.body.errors[0].path).toEqual(['product', 'name']);
    expect(field.body.errors[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', breaker: 'catalog-field' });
    expect(errorLines().filter((l) => /Circuit breaker|open/i.test(l))).toEqual([]);
  });

  it('an open circuit of a service reaches the client through the filter as the same error, and HTTP still answers 503', async () => {
    catalog.failing = true;
    for (let i = 0; i < 2; i++) await gql('{ price(id: "p1") }').expect(200);
    logger.lines.length = 0;
    const res = await gql('{ price(id: "p1") }').expect(200);
    expect(res.body).toMatchObject({ data: null, errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE', breaker: 'pricing', circuit_state: 'open' } }] });
    expect(errorLines()).toEqual([]);
    const http = await request(app.getHttpServer()).get('/http/price').expect(503);
    expect(http.headers['retry-after']).toBeDefined();
    expect(http.body).toMatchObject({ breaker: 'pricing', circuit_state: 'open' });
  });
});
