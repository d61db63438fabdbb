import type { HandlerContext } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { CommandBus } from '@nestjs/cqrs';
import type { UnlockUserRequest } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { callerOf } from './transport/caller-context.js';
import { UnlockUserCommand } from '#user';

/**
 * `zitadel.user.v2.UserService.UnlockUser` (`POST /v2/users/{userId}/unlock`) for the UserService
 * implementation: `unlockUser: unlockUserMethod(this.commands)` in its `impl`.
 */
export function unlockUserMethod(commands: CommandBus) {
  return async (req: UnlockUserRequest, ctx: HandlerContext) => {
    const details = await commands.execute(
      new UnlockUserCommand({
        caller: callerOf(ctx),
        userId: req.userId,
        correlationId: ctx.requestHeader.get('x-correlation-id') ?? undefined,
      }),
    );
    return {
      details: { sequence: BigInt(details.sequence), changeDate: timestampFromDate(details.changeDate), resourceOwner: details.resourceOwner },
    };
  };
}
