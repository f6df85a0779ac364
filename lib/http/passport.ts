/**
 * HTTP Negotiate (RFC 4559) as a Passport strategy, over the same core as negotiate().
 *
 *   import { Strategy } from 'spnego/http/passport';
 *   passport.use(new Strategy({ keytab: '/etc/http.keytab' }, (result, done) => done(null, { name: result.user })));
 *   app.get('/', passport.authenticate('negotiate', { session: false }), (req, res) => res.send(req.user.name));
 *
 * A failure is passport's fail() with the challenge ('Negotiate' or 'Negotiate <next token>') and
 * 401, or 400 for an oversize token, or 403 when verify gives no user; the mutual-authentication token of a success is set on req.res
 * (Express). Without a verify callback the user is the NegotiateResult. Passport is not imported:
 * passport gives each authentication an object made from the strategy with success/fail/error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAuthenticator, type NegotiateOptions, type NegotiateOutcome, type NegotiateResult } from './server.js';

export type VerifyCallback = (result: NegotiateResult, done: (err: unknown, user?: unknown, info?: unknown) => void) => void;

/** What passport adds to the strategy for one authentication (passport-strategy's augmented methods). */
interface PassportActions {
  success(user: unknown, info?: unknown): void;
  fail(challenge?: string | number, status?: number): void;
  error(err: unknown): void;
}

export class Strategy {
  readonly name: string;
  private readonly decide: (req: IncomingMessage) => Promise<NegotiateOutcome>;
  private readonly verify: VerifyCallback | undefined;

  constructor(o: NegotiateOptions & { name?: string } = {}, verify?: VerifyCallback) {
    const { name, ...options } = o;
    this.name = name ?? 'negotiate';
    this.decide = createAuthenticator(options);
    this.verify = verify;
  }

  authenticate(this: Strategy & PassportActions, req: IncomingMessage & { res?: ServerResponse }): void {
    this.decide(req).then((out) => {
      if (!out.ok) {
        // passport sets WWW-Authenticate from a string challenge, with 401 only.
        const www = out.headers['WWW-Authenticate'];
        if (out.status === 401 && typeof www === 'string') this.fail(www, 401);
        else if (out.status === 401 && www) {
          // Several challenges (Negotiate and NTLM): passport takes one string each, so set them here
          // (passport leaves WWW-Authenticate alone when no strategy gave a challenge).
          req.res?.setHeader('WWW-Authenticate', www);
          this.fail(401);
        } else this.fail(out.status);
        return;
      }
      for (const [k, v] of Object.entries(out.headers)) req.res?.setHeader(k, v);
      req.negotiate = out.result;
      if (!this.verify) {
        this.success(out.result);
        return;
      }
      this.verify(out.result, (err, user, info) => {
        if (err) this.error(err);
        // Authenticated, but not a user of this application: 403, no new challenge (RFC 9110 15.5.4).
        else if (!user) this.fail(403);
        else this.success(user, info);
      });
    }, (err: unknown) => this.error(err));
  }
}

export { Strategy as NegotiateStrategy };
