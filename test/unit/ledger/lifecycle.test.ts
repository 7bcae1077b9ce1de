import { describe, expect, it } from 'vitest';
import {
  CAPTURE_STATES,
  IllegalMoveError,
  MOVES,
  awaitsNotification,
  awaitsRelease,
  isActiveRecord,
  planMove,
  type CaptureState,
  type MoveName,
} from '../../../src/ledger/lifecycle.js';

const ended = { captureId: '/x/packetCaptures/alertcap-a' };

describe('the lifecycle table', () => {
  it('has no duplicate state: duplicate deliveries are answered, not recorded (scenario 9)', () => {
    expect(CAPTURE_STATES).not.toContain('duplicate');
  });

  it.each([
    ['markStarting', 'pending', 'starting'],
    ['deferStart', 'starting', 'pending'],
    ['markRunning', 'pending', 'running'],
    ['markRunning', 'starting', 'running'],
    ['markIgnored', 'pending', 'ignored'],
    ['markFinished', 'running', 'finished'],
    ['markFailed', 'running', 'failed'],
    ['giveUpNotifying', 'finished', 'notifyFailed'],
  ] as const)('%s moves %s to %s', (move, from, to) => {
    expect(planMove({ state: from }, move)).toBe(to);
  });

  it('refuses every move from a state it does not start from, with an error naming both', () => {
    for (const move of Object.keys(MOVES) as MoveName[]) {
      for (const state of CAPTURE_STATES) {
        if ((MOVES[move].from as readonly CaptureState[]).includes(state)) continue;
        expect(() => planMove({ state }, move)).toThrow(IllegalMoveError);
      }
    }
    expect(() => planMove({ state: 'notified' }, 'markRunning')).toThrow(
      'illegal lifecycle move markRunning from state notified (allowed from pending, starting)',
    );
  });

  it('a finished capture is notified once both its release and its notification are done, in either order', () => {
    const finished = { state: 'finished' as const, ...ended };
    expect(planMove(finished, 'markNotified', { notifiedAt: 't' })).toBe('finished');
    expect(planMove(finished, 'markReleased', { releasedAt: 't' })).toBe('finished');
    expect(planMove({ ...finished, releasedAt: 't' }, 'markNotified', { notifiedAt: 't' })).toBe('notified');
    expect(planMove({ ...finished, notifiedAt: 't' }, 'markReleased', { releasedAt: 't' })).toBe('notified');
  });

  it('names "failed and not yet notified" and "finished and cleanup pending"', () => {
    expect(awaitsNotification({ state: 'failed' })).toBe(true);
    expect(awaitsNotification({ state: 'failed', notifiedAt: 't' })).toBe(false);
    expect(awaitsRelease({ state: 'finished', ...ended })).toBe(true);
    expect(awaitsRelease({ state: 'finished', ...ended, releasedAt: 't' })).toBe(false);
    expect(awaitsRelease({ state: 'failed' })).toBe(false); // nothing was created
    expect(isActiveRecord({ state: 'notifyFailed', ...ended })).toBe(true);
    expect(isActiveRecord({ state: 'notifyFailed', ...ended, releasedAt: 't' })).toBe(false);
  });

  it('a ring record never awaits a notification, and is done once its capture is released', () => {
    const ring = { kind: 'ring' as const, ...ended };
    expect(awaitsNotification({ ...ring, state: 'finished' })).toBe(false);
    expect(awaitsNotification({ ...ring, state: 'failed' })).toBe(false);
    expect(isActiveRecord({ ...ring, state: 'finished' })).toBe(true); // its capture is still to delete
    expect(isActiveRecord({ ...ring, state: 'finished', releasedAt: 't' })).toBe(false);
    expect(isActiveRecord({ ...ring, state: 'failed', releasedAt: 't' })).toBe(false);
    expect(isActiveRecord({ kind: 'ring', state: 'failed' })).toBe(false); // nothing was created
    expect(planMove({ ...ring, state: 'finished' }, 'markReleased', { releasedAt: 't' })).toBe('finished');
  });

  it('an ignored alert stays active while it keeps its pre-alert ring files, and may be noted meanwhile', () => {
    expect(isActiveRecord({ state: 'ignored', keepDueAt: 't' })).toBe(true);
    expect(isActiveRecord({ state: 'ignored' })).toBe(false);
    expect(planMove({ state: 'ignored', keepDueAt: 't' }, 'note', { keepDueAt: undefined })).toBe('ignored');
    expect(() => planMove({ state: 'ignored' }, 'markRunning')).toThrow(IllegalMoveError);
  });

  it('a ring record is active while it is to start or running, like any other', () => {
    for (const state of ['pending', 'starting', 'running'] as const) {
      expect(isActiveRecord({ kind: 'ring', state })).toBe(true);
    }
  });

  it('an alert or manual record still awaits its notification where a ring record does not', () => {
    expect(awaitsNotification({ state: 'finished', ...ended, releasedAt: 't' })).toBe(true);
    expect(awaitsNotification({ kind: 'manual', state: 'failed' })).toBe(true);
    expect(isActiveRecord({ state: 'failed', ...ended, releasedAt: 't' })).toBe(true);
  });
});
