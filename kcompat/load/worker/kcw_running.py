"""Guarded-load worker, TF side: running the model under a strategy, its outputs, one training step."""

from __future__ import annotations

from kcw_helpers import exc_info


class RunningMixin:
    """Call on every replica, flatten outputs to named arrays, and try one ``fit`` step."""

    def call_replicated(self, fn, args: list):
        """Run ``fn`` on every replica of the strategy with the same inputs, return replica 0's outputs."""
        tf = self.tf
        tensors = [tf.constant(a) for a in args]
        if self.is_default:
            return fn(*tensors), None

        @tf.function
        def step(*xs):
            return self.strategy.run(fn, args=xs)

        per = step(*tensors)
        flat_per = tf.nest.flatten(per, expand_composites=False)
        locals_ = [self.strategy.experimental_local_results(t) for t in flat_per]
        spread = 0.0
        for reps in locals_:
            base = reps[0].numpy()
            for r in reps[1:]:
                spread = max(spread, float(abs(r.numpy().astype("float64") - base.astype("float64")).max(initial=0.0)))
        first = tf.nest.pack_sequence_as(per, [reps[0] for reps in locals_])
        return first, spread

    def flatten_outputs(self, out) -> list[tuple[str, object]]:
        import numpy as np

        tf = self.tf
        if isinstance(out, dict):
            items = sorted(out.items())
        elif isinstance(out, (list, tuple)):
            items = [(f"output_{i}", v) for i, v in enumerate(out)]
        else:
            items = [("output_0", out)]
        res = []
        for name, v in items:
            if isinstance(v, (dict, list, tuple)):
                for sub, sv in self.flatten_outputs(v):
                    res.append((f"{name}/{sub}", sv))
                continue
            if hasattr(v, "numpy"):
                if getattr(v, "dtype", None) is not None and str(getattr(v.dtype, "name", v.dtype)) == "bfloat16":
                    v = tf.cast(v, tf.float32)
                v = v.numpy()
            res.append((name, np.asarray(v)))
        return res

    def fit_once(self, model, x: list, y_items: list, result: dict) -> None:
        """One training step on a compiled model, with tf.data input (what strategies need)."""
        tf = self.tf
        opt = getattr(model, "optimizer", None)
        if opt is None:
            return
        xs = x[0] if len(x) == 1 else tuple(x)
        ys = y_items[0] if len(y_items) == 1 else tuple(y_items)
        notes = []
        if self.strategy_name == "multi-worker":
            # Reproduce the known Keras 3 problem: numpy fit under MWMS.
            try:
                model.fit(xs, ys, epochs=1, batch_size=int(x[0].shape[0]), verbose=0, shuffle=False)
                notes.append("numpy fit under MultiWorkerMirroredStrategy worked")
            except Exception as e:
                info = exc_info(e)
                result["numpy_fit_error"] = info
                notes.append(f"numpy fit under MultiWorkerMirroredStrategy failed: {info['exception_type']}: {info['message'][:200]}")
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        ds = tf.data.Dataset.from_tensor_slices((xs, ys)).batch(int(x[0].shape[0])).repeat().with_options(options)
        try:
            model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
            result["trained"] = True
            notes.append("one training step ran (tf.data input)")
        except Exception as e:
            info = exc_info(e)
            result["trained"] = False
            result["train_error"] = info
            notes.append(f"fit on tf.data failed: {info['exception_type']}: {info['message'][:200]}")
            if "PerReplica" in info["full_message"] and not self.is_default:
                # Keras 3 fit() reduces a PerReplica batch in _maybe_symbolic_build, which fails under
                # MWMS whatever the input type. A hand-written strategy.run step still trains.
                try:
                    self.custom_step(model, ds)
                    result["trained"] = True
                    notes.append("one custom strategy.run training step (GradientTape + optimizer) ran instead")
                except Exception as e2:
                    info2 = exc_info(e2)
                    notes.append(f"custom training step failed too: {info2['exception_type']}: {info2['message'][:200]}")
        result.setdefault("notes", []).extend(notes)

    def custom_step(self, model, ds) -> None:
        tf, strategy = self.tf, self.strategy
        dist = iter(strategy.experimental_distribute_dataset(ds))
        xb, yb = next(dist)

        @tf.function
        def step(xb, yb):
            def fn(xb, yb):
                with tf.GradientTape() as tape:
                    pred = model(xb, training=True)
                    loss = model.compute_loss(x=xb, y=yb, y_pred=pred)
                grads = tape.gradient(loss, model.trainable_variables)
                model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
                return loss

            return strategy.reduce("SUM", strategy.run(fn, args=(xb, yb)), axis=None)

        step(xb, yb)
