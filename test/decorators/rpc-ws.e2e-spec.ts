import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication } from '@nestjs/common';
import { ClientProxyFactory, type ClientProxy, MessagePattern, Transport } from '@nestjs/microservices';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { io, type Socket } from 'socket.io-client';
import { CircuitBreaker, CircuitBreakerModule } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

@Controller()
class PricesController {
  calls = 0;

  @MessagePattern('price')
  @CircuitBreaker('rpc-prices', { failureThreshold: 1 })
  price(sku: string): number {
    this.calls++;
    if (sku === 'broken') throw new Error('pricing down');
    return sku.length;
  }
}

@WebSocketGateway()
class QuotesGateway {
  calls = 0;

  @SubscribeMessage('quote')
  @CircuitBreaker('ws-quotes', { failureThreshold: 1 })
  quote(): never {
    this.calls++;
    throw new Error('quotes down');
  }
}

const clock = new FakeClock();
const OPEN_FIELDS = (breaker: string) => ({
  statusCode: 503,
  error: 'Service Unavailable',
  message: `Circuit breaker '${breaker}' is open`,
  breaker,
  circuit_state: 'open',
  retry_after: 30,
});

describe('@CircuitBreaker on microservice and gateway handlers', () => {
  let app: INestApplication;
  let client: ClientProxy;
  let socket: Socket;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ defaults: { clock, resetTimeoutMs: 30_000 } })],
      controllers: [PricesController],
      providers: [QuotesGateway],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    const rpcPort = await freePort();
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: rpcPort } });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: rpcPort } });
    await client.connect();
    const { port } = app.getHttpServer().address() as AddressInfo;
    socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  });

  afterAll(async () => {
    socket?.disconnect();
    await client?.close();
    await app?.close();
  });

  it('rejects an RPC call with an RpcException carrying the SPEC fields when open', async () => {
    await expect(firstValueFrom(client.send('price', 'abc'))).resolves.toBe(3);
    await expect(firstValueFrom(client.send('price', 'broken'))).rejects.toMatchObject({ status: 'error' });
    const controller = app.get(PricesController);
    const calls = controller.calls;
    await expect(firstValueFrom(client.send('price', 'abc'))).rejects.toEqual(OPEN_FIELDS('rpc-prices'));
    expect(controller.calls).toBe(calls);
  });

  it('answers a WebSocket message with a WsException carrying the SPEC fields when open', async () => {
    const exception = () => new Promise<unknown>((resolve) => socket.once('exception', resolve));
    let next = exception();
    socket.emit('quote', {});
    expect(await next).toMatchObject({ status: 'error', message: 'Internal server error' });
    const gateway = app.get(QuotesGateway);
    expect(gateway.calls).toBe(1);

    next = exception();
    socket.emit('quote', {});
    expect(await next).toEqual(OPEN_FIELDS('ws-quotes'));
    expect(gateway.calls).toBe(1);
  });
});
