"""A fake ``pynvml`` with the same names and ctypes conventions, modelled on real values
(mig.md §1.1, §2.2): an H100-80GB SXM with MIG on and two instances, an A100-40GB with MIG
off. ``drop``/``patch`` let a test make the hardware disagree with the catalog."""

from __future__ import annotations

from ctypes import Structure, c_uint
from types import SimpleNamespace
from typing import Any

NVML_GPU_INSTANCE_PROFILE_1_SLICE = 0x0
NVML_GPU_INSTANCE_PROFILE_2_SLICE = 0x1
NVML_GPU_INSTANCE_PROFILE_3_SLICE = 0x2
NVML_GPU_INSTANCE_PROFILE_4_SLICE = 0x3
NVML_GPU_INSTANCE_PROFILE_7_SLICE = 0x4
NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1 = 0x7
NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2 = 0x9
NVML_GPU_INSTANCE_PROFILE_COUNT = 0x12


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    pass


class c_nvmlGpuInstancePlacement_t(Structure):
    _fields_ = [("start", c_uint), ("size", c_uint)]


c_nvmlGpuInstance_t = c_uint

# (constant, id, name suffix, slices, size, max, MiB, SMs, starts)
H100 = [
    (0x0, 19, "1g.10gb", 1, 1, 7, 9984, 16, range(7)),
    (0x7, 20, "1g.10gb+me", 1, 1, 1, 9984, 16, range(7)),
    (0x9, 15, "1g.20gb", 1, 2, 4, 20096, 26, (0, 2, 4, 6)),
    (0x1, 14, "2g.20gb", 2, 2, 3, 20096, 32, (0, 2, 4)),
    (0x2, 9, "3g.40gb", 3, 4, 2, 40448, 60, (0, 4)),
    (0x3, 5, "4g.40gb", 4, 4, 1, 40448, 64, (0,)),
    (0x4, 0, "7g.80gb", 7, 8, 1, 81152, 132, (0,)),
]
A100_40 = [
    (0x0, 19, "1g.5gb", 1, 1, 7, 4864, 14, range(7)),
    (0x7, 20, "1g.5gb+me", 1, 1, 1, 4864, 14, range(7)),
    (0x9, 15, "1g.10gb", 1, 2, 4, 9856, 14, (0, 2, 4, 6)),
    (0x1, 14, "2g.10gb", 2, 2, 3, 9984, 28, (0, 2, 4)),
    (0x2, 9, "3g.20gb", 3, 4, 2, 20096, 42, (0, 4)),
    (0x3, 5, "4g.20gb", 4, 4, 1, 20096, 56, (0,)),
    (0x4, 0, "7g.40gb", 7, 8, 1, 40448, 98, (0,)),
]


def _gpu(
    name: str,
    uuid: str,
    pci: int,
    total_mib: int,
    mig: tuple[int, int],
    table: list[Any],
    instances: list[tuple[int, int, int]],
) -> dict[str, Any]:
    return {
        "name": name,
        "uuid": uuid,
        "pci": pci,
        "total": total_mib * 1024 * 1024,
        "mig": mig,
        "profiles": {row[0]: row for row in table},
        "instances": instances,
    }


class FakeNvml:
    """Module-like object: pass it wherever ``pynvml`` is expected."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported
    c_nvmlGpuInstancePlacement_t = c_nvmlGpuInstancePlacement_t
    c_nvmlGpuInstance_t = c_nvmlGpuInstance_t

    def __init__(self, driver: bool = True) -> None:
        for k, v in globals().items():
            if k.startswith("NVML_GPU_INSTANCE_PROFILE_"):
                setattr(self, k, v)
        self.driver = driver
        self.initialised = False
        self.gpus = [
            # two instances exist on the H100: a 3g.40gb at 4 and a 4g.40gb at 0
            _gpu(
                "NVIDIA H100 80GB HBM3",
                "GPU-11111111-2222-3333-4444-555555555555",
                0x233010DE,
                81559,
                (1, 1),
                H100,
                [(1, 9, 4), (2, 5, 0)],
            ),
            _gpu(
                "NVIDIA A100-SXM4-40GB",
                "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                0x20B010DE,
                40960,
                (0, 1),
                A100_40,
                [],
            ),
        ]

    def drop(self, gpu: int, profile_const: int) -> None:
        del self.gpus[gpu]["profiles"][profile_const]

    def patch(self, gpu: int, profile_const: int, **fields: Any) -> None:
        row = list(self.gpus[gpu]["profiles"][profile_const])
        names = ["const", "id", "name", "slices", "size", "max", "mib", "sms", "starts"]
        for k, v in fields.items():
            row[names.index(k)] = v
        self.gpus[gpu]["profiles"][profile_const] = tuple(row)

    def nvmlInit(self) -> None:
        if not self.driver:
            raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.initialised = False

    def nvmlDeviceGetCount(self) -> int:
        assert self.initialised
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> str:
        return str(self.gpus[h]["name"])

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return str(self.gpus[h]["uuid"])

    def nvmlDeviceGetPciInfo(self, h: int) -> Any:
        return SimpleNamespace(pciDeviceId=self.gpus[h]["pci"])

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        return SimpleNamespace(total=self.gpus[h]["total"])

    def nvmlDeviceGetMigMode(self, h: int) -> list[int]:
        return list(self.gpus[h]["mig"])

    def nvmlDeviceGetGpuInstanceProfileInfo(self, h: int, const: int) -> Any:
        row = self.gpus[h]["profiles"].get(const)
        if row is None:
            raise NVMLError_NotSupported("Not Supported")
        _, pid, name, slices, _, mx, mib, sms, _ = row
        return SimpleNamespace(
            id=pid,
            sliceCount=slices,
            instanceCount=mx,
            multiprocessorCount=sms,
            memorySizeMB=mib,
            name=f"MIG {name}".encode(),
        )

    def _by_id(self, h: int, pid: int) -> tuple[Any, ...]:
        return next(r for r in self.gpus[h]["profiles"].values() if r[1] == pid)

    def nvmlDeviceGetGpuInstancePossiblePlacements(
        self, h: int, pid: int, arr: Any, count_ref: Any
    ) -> int:
        row = self._by_id(h, pid)
        starts = list(row[8])
        if len(starts) > count_ref._obj.value:
            raise NVMLError("Insufficient Size")
        for k, s in enumerate(starts):
            arr[k].start, arr[k].size = s, row[4]
        count_ref._obj.value = len(starts)
        return 0

    def nvmlDeviceGetGpuInstances(self, h: int, pid: int, arr: Any, count_ref: Any) -> int:
        mine = [i for i in self.gpus[h]["instances"] if i[1] == pid]
        for k, (iid, _, _) in enumerate(mine):
            arr[k] = h * 1000 + iid
        count_ref._obj.value = len(mine)
        return 0

    def nvmlGpuInstanceGetInfo(self, gi: int) -> Any:
        h, iid = divmod(gi, 1000)
        _, pid, start = next(i for i in self.gpus[h]["instances"] if i[0] == iid)
        size = self._by_id(h, pid)[4]
        return SimpleNamespace(
            id=iid, profileId=pid, placement=SimpleNamespace(start=start, size=size)
        )
