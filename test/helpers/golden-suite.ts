import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ComputeBackend } from '../../src/compute/backend.js';
import { lossAndGradient } from '../../src/training/losses.js';
import { Adam } from '../../src/training/optimizer.js';
import { trainStep } from '../../src/training/step.js';
import { batchFirst, buildModel, expectedInOurLayout, GOLDEN_FILES, paramView, relativeError } from './golden-lstm.js';

/** Runs the golden-fixture checks (one layer and a two-layer stack) for one backend at the given tolerances. */
export function goldenSuite(backend: ComputeBackend, tol: { forward: number; grad: number; adam: number }): void {
  for (const file of GOLDEN_FILES) for (const kind of ['ealstm', 'lstm'] as const) {
    describe(`${kind} on ${backend.name} matches PyTorch (${file})`, () => {
      test('forward: predictions, last states, input gate, losses', () => {
        const { model, c } = buildModel(backend, kind, file);
        const n = c.inputs.y.length;
        const pred = model.forward(n);
        assert.ok(relativeError(Array.from(pred.subarray(0, n)), c.forward.y_pred as number[]) < tol.forward);
        const { h, c: cell, offset } = model.lastState();
        const hidden = model.spec.hidden;
        assert.ok(relativeError(Array.from(h.subarray(offset, offset + n * hidden)), c.forward.h_last as number[]) < tol.forward);
        assert.ok(relativeError(Array.from(cell.subarray(offset, offset + n * hidden)), c.forward.c_last as number[]) < tol.forward);
        if (kind === 'ealstm') {
          assert.ok(relativeError(Array.from(model.inputGate.subarray(0, n * hidden)), c.forward.input_gate as number[]) < tol.forward);
        }
        const y = backend.alloc(n);
        y.set(c.inputs.y);
        const std = backend.alloc(n);
        std.set(c.inputs.q_std);
        const grad = backend.alloc(n);
        const nse = lossAndGradient('NSE', n, pred, y, std, grad);
        const mse = lossAndGradient('MSE', n, pred, y, std, grad);
        assert.ok(Math.abs(nse - (c.forward.loss_nse_star as number)) / (c.forward.loss_nse_star as number) < tol.forward);
        assert.ok(Math.abs(mse - (c.forward.loss_mse as number)) / (c.forward.loss_mse as number) < tol.forward);
      });

      test('gradients of NSE* w.r.t. every parameter, x_d and x_s', () => {
        const { model, c } = buildModel(backend, kind, file);
        const n = c.inputs.y.length;
        const pred = model.forward(n);
        const y = backend.alloc(n);
        y.set(c.inputs.y);
        const std = backend.alloc(n);
        std.set(c.inputs.q_std);
        const dOut = backend.alloc(n);
        lossAndGradient('NSE', n, pred, y, std, dOut);
        backend.hostWrote(dOut);
        model.grads.fill(0);
        model.backward(dOut, { inputGradients: true });
        for (const x of [model.grads, model.dynamicInputGrad, model.staticInputGrad]) backend.toHost(x);
        const expected = expectedInOurLayout(kind, c.grad_of_loss_nse_star, c);
        for (const p of model.layout) {
          const err = relativeError(paramView(model, model.grads, p.name), expected[p.name]);
          assert.ok(err < tol.grad, `${p.name}: relative error ${err}`);
        }
        const [batch, seq, d] = c.inputs.x_d.shape;
        const s = c.inputs.x_s.shape[1];
        const errXd = relativeError(batchFirst(model.dynamicInputGrad, batch, seq, d), c.grad_of_loss_nse_star.x_d);
        assert.ok(errXd < tol.grad, `x_d: relative error ${errXd}`);
        const errXs = relativeError(Array.from(model.staticInputGrad.subarray(0, batch * s)), c.grad_of_loss_nse_star.x_s);
        assert.ok(errXs < tol.grad, `x_s: relative error ${errXs}`);
      });

      test('three clipped Adam steps', () => {
        const { model, c } = buildModel(backend, kind, file);
        const n = c.inputs.y.length;
        const target = backend.alloc(n);
        target.set(c.inputs.y);
        const basinStd = backend.alloc(n);
        basinStd.set(c.inputs.q_std);
        const buffers = { target, basinStd, outputGrad: backend.alloc(n) };
        const adam = new Adam(model.params.length);
        for (const expectedStep of c.adam_steps.steps) {
          const { loss, gradNorm } = trainStep(model, n, buffers, 'NSE', adam, 1e-3, 1, null);
          assert.ok(Math.abs(loss - expectedStep.loss) / expectedStep.loss < tol.grad);
          assert.ok(Math.abs(gradNorm - expectedStep.grad_norm_before_clip) / expectedStep.grad_norm_before_clip < tol.grad);
        }
        const expected = expectedInOurLayout(kind, c.adam_steps.params_after, c);
        for (const p of model.layout) {
          const actual = paramView(model, model.params, p.name);
          const maxAbs = Math.max(...actual.map((v, i) => Math.abs(v - expected[p.name][i])));
          const scale = Math.max(...expected[p.name].map(Math.abs));
          assert.ok(maxAbs < tol.adam * Math.max(1, scale), `${p.name}: max abs error ${maxAbs}`);
        }
      });
    });
  }
}

