"""The unregistered custom objects of fixtures/*/custom_unregistered.* (Keras 3 producers), as a user's
own code would define them: the names a KC301 custom_objects snippet asks for."""

import keras


class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kw):
        super().__init__(**kw)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def my_activation(x):
    return keras.ops.relu(x) - 0.1


def my_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred))


class MyMetric(keras.metrics.Metric):
    def __init__(self, name="my_metric", **kw):
        super().__init__(name=name, **kw)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(keras.ops.sum(keras.ops.cast(y_pred, self.dtype)))

    def result(self):
        return self.total
