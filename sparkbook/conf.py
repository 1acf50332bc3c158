"""SparkConf: the application's key/value settings, as in PySpark."""

from __future__ import annotations

import os


class SparkConf:
    """Configuration for a sparkbook application, with PySpark's setter API."""

    def __init__(self, loadDefaults: bool = True, _settings: dict[str, str] | None = None) -> None:
        self._settings: dict[str, str] = dict(_settings or {})
        if loadDefaults:
            for key, value in os.environ.items():
                if key.startswith("SPARK_CONF_"):
                    self._settings.setdefault(key[len("SPARK_CONF_"):].replace("_", "."), value)

    def set(self, key: str, value: object) -> SparkConf:
        self._settings[key] = str(value)
        return self

    def setIfMissing(self, key: str, value: object) -> SparkConf:
        self._settings.setdefault(key, str(value))
        return self

    def setMaster(self, value: str) -> SparkConf:
        return self.set("spark.master", value)

    def setAppName(self, value: str) -> SparkConf:
        return self.set("spark.app.name", value)

    def setSparkHome(self, value: str) -> SparkConf:
        return self.set("spark.home", value)

    def setExecutorEnv(self, key: str | None = None, value: str | None = None,
                       pairs: list[tuple[str, str]] | None = None) -> SparkConf:
        for k, v in ([(key, value)] if key is not None else []) + list(pairs or []):
            self.set(f"spark.executorEnv.{k}", v)
        return self

    def setAll(self, pairs: list[tuple[str, object]]) -> SparkConf:
        for key, value in pairs:
            self.set(key, value)
        return self

    def get(self, key: str, defaultValue: str | None = None) -> str | None:
        return self._settings.get(key, defaultValue)

    def getAll(self) -> list[tuple[str, str]]:
        return list(self._settings.items())

    def contains(self, key: str) -> bool:
        return key in self._settings

    def toDebugString(self) -> str:
        return "\n".join(f"{k}={v}" for k, v in self._settings.items())

    def get_int(self, key: str, default: int) -> int:
        return int(self._settings.get(key, default))

    def get_seconds(self, key: str, default: float) -> float:
        """A duration setting such as "3s", "500ms" or "2" (seconds)."""
        raw = self._settings.get(key)
        return default if raw is None else parse_seconds(raw)

    def copy(self) -> SparkConf:
        return SparkConf(loadDefaults=False, _settings=self._settings)

    def __repr__(self) -> str:
        return f"SparkConf({self._settings!r})"


def parse_seconds(raw: str) -> float:
    raw = raw.strip().lower()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("min", 60.0), ("m", 60.0), ("h", 3600.0)):
        if raw.endswith(suffix):
            return float(raw[: -len(suffix)]) * scale
    return float(raw)


def parse_bytes(raw: str | int) -> int:
    """A size such as "512m", "1g", "64k" or a plain byte count."""
    if isinstance(raw, int):
        return raw
    raw = raw.strip().lower().rstrip("b")
    scales = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    if raw and raw[-1] in scales:
        return int(float(raw[:-1]) * scales[raw[-1]])
    return int(raw)
