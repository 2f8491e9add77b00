#!/usr/bin/env python3
"""Renders a kustomization directory to YAML on stdout, offline, for the subset of kustomize
that Solstice's manifests use:

  resources   files (one or more YAML documents) and directories holding a kustomization.yaml
  namespace   set on every namespaced object
  images      {name, newName, newTag, digest}: rewrites container images whose name matches
  patches     {path}: strategic-merge patches (one or more documents per file), each matching
              exactly one object by kind and name (and apiVersion, and namespace if it has one)

Anything else in a kustomization.yaml, or a patch directive this file does not implement,
is an error: the manifests must stay inside the subset, so that this renderer and
`kubectl kustomize` agree (scripts/check-k8s compares the two when kubectl is installed).

Usage: render.py DIR [-o FILE]. Needs PyYAML.
"""

import argparse
import copy
import os
import sys

import yaml

KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "namespace", "resources", "images", "patches"}

# Kinds that are not namespaced (the ones these manifests could plausibly contain).
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass",
    "PersistentVolume", "PriorityClass", "IngressClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}

# kustomize's "legacy" output order: these kinds first, in this order, the rest after them
# sorted by group, version and kind, and webhook configurations last.
ORDER_FIRST = [
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
    "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
    "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]

# Lists that strategic merge merges item by item, by this key (from the Kubernetes API's
# patchMergeKey); every other list is replaced whole by the patch's list.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
}


class RenderError(Exception):
    pass


def load_documents(path):
    with open(path, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in documents:
        if not isinstance(d, dict) or "kind" not in d or "metadata" not in d:
            raise RenderError(f"{path}: every document needs kind and metadata")
    return documents


def describe(obj):
    return f"{obj['kind']}/{obj['metadata'].get('name')}"


def merge_key(field, items):
    """The key to merge list `field` by, or None to replace it."""
    if field == "ports":
        # Container ports merge by containerPort, Service ports by port.
        if all(isinstance(i, dict) and "containerPort" in i for i in items):
            return "containerPort"
        if all(isinstance(i, dict) and "port" in i for i in items):
            return "port"
        return None
    key = MERGE_KEYS.get(field)
    if key and all(isinstance(i, dict) and key in i for i in items):
        return key
    return None


def strip_directives(value):
    if isinstance(value, dict):
        for k in value:
            if isinstance(k, str) and k.startswith("$"):
                raise RenderError(f"patch directive {k} is outside the supported subset")
        return {k: strip_directives(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_directives(v) for v in value]
    return value


def merge(base, patch, field=None):
    """Strategic merge of `patch` into `base` (both plain YAML values); returns the result."""
    if isinstance(base, dict) and isinstance(patch, dict):
        result = dict(base)
        for k, v in patch.items():
            if isinstance(k, str) and k.startswith("$"):
                raise RenderError(f"patch directive {k} is outside the supported subset")
            if v is None:
                result.pop(k, None)
            elif k in result:
                result[k] = merge(result[k], v, k)
            else:
                result[k] = strip_directives(copy.deepcopy(v))
        return result
    if isinstance(base, list) and isinstance(patch, list):
        key = merge_key(field, base + [i for i in patch if not (isinstance(i, dict) and "$patch" in i)])
        if key is None:
            return strip_directives(copy.deepcopy(patch))
        result = list(base)
        for item in patch:
            position = next((n for n, b in enumerate(result) if b.get(key) == item.get(key)), None)
            if item.get("$patch") == "delete":
                if position is not None:
                    del result[position]
                continue
            if position is None:
                result.append(strip_directives(copy.deepcopy(item)))
            else:
                result[position] = merge(result[position], item, None)
        return result
    return strip_directives(copy.deepcopy(patch))


def split_image(image):
    """name, tag, digest of an image reference (tag and digest may be None)."""
    name, digest = image, None
    if "@" in name:
        name, digest = name.split("@", 1)
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.split(":", 1)[1]
        name = name[: len(name) - len(tag) - 1]
    return name, tag, digest


def set_images(value, images):
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("containers", "initContainers", "ephemeralContainers") and isinstance(v, list):
                for container in v:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        container["image"] = new_image(container["image"], images)
            else:
                set_images(v, images)
    elif isinstance(value, list):
        for v in value:
            set_images(v, images)


def new_image(image, images):
    name, tag, digest = split_image(image)
    for entry in images:
        unknown = set(entry) - {"name", "newName", "newTag", "digest"}
        if unknown:
            raise RenderError(f"images: unsupported fields {sorted(unknown)}")
        if entry["name"] != name:
            continue
        name = entry.get("newName", name)
        if "newTag" in entry:
            tag, digest = str(entry["newTag"]), None
        if "digest" in entry:
            tag, digest = None, entry["digest"]
        break
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def build(directory):
    path = os.path.join(directory, "kustomization.yaml")
    if not os.path.isfile(path):
        raise RenderError(f"{directory}: no kustomization.yaml")
    with open(path, encoding="utf-8") as f:
        kustomization = yaml.safe_load(f) or {}
    unknown = set(kustomization) - KUSTOMIZATION_FIELDS
    if unknown:
        raise RenderError(f"{path}: fields outside the supported subset: {sorted(unknown)}")
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        raise RenderError(f"{path}: kind must be Kustomization")

    objects = []
    for entry in kustomization.get("resources", []):
        target = os.path.normpath(os.path.join(directory, entry))
        objects.extend(build(target) if os.path.isdir(target) else load_documents(target))

    seen = set()
    for obj in objects:
        ident = (obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if ident in seen:
            raise RenderError(f"{path}: {describe(obj)} is defined twice")
        seen.add(ident)

    for entry in kustomization.get("patches", []):
        if set(entry) != {"path"}:
            raise RenderError(f"{path}: only patches with a path alone are supported")
        for patch in load_documents(os.path.join(directory, entry["path"])):
            meta = patch["metadata"]
            matches = [
                n for n, obj in enumerate(objects)
                if obj["kind"] == patch["kind"]
                and obj["apiVersion"] == patch["apiVersion"]
                and obj["metadata"]["name"] == meta["name"]
                and ("namespace" not in meta or obj["metadata"].get("namespace") == meta["namespace"])
            ]
            if len(matches) != 1:
                raise RenderError(f"{entry['path']}: patch {describe(patch)} matches {len(matches)} objects")
            objects[matches[0]] = merge(objects[matches[0]], patch)

    images = kustomization.get("images", [])
    if images:
        for obj in objects:
            set_images(obj, images)

    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    return objects


def order(obj):
    kind = obj["kind"]
    group_version = obj["apiVersion"]
    if kind in ORDER_FIRST:
        rank = (0, ORDER_FIRST.index(kind), "")
    elif kind in ORDER_LAST:
        rank = (2, ORDER_LAST.index(kind), "")
    else:
        rank = (1, 0, f"{group_version}/{kind}" if "/" in group_version else f"~core/{group_version}/{kind}")
    return rank + (obj["metadata"].get("namespace") or "", obj["metadata"]["name"])


def render(directory):
    return sorted(build(directory), key=order)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    args = parser.parse_args()
    try:
        objects = render(args.directory)
    except (RenderError, OSError, yaml.YAMLError, KeyError) as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 1
    text = yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False, width=1000)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
