/* The image config fields the guest honours: see manifest.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "manifest.h"

#define JSON_VALUES_MAX 100000
#define ARGS_MAX 256 /* Entrypoint and Cmd together: the agent's argv bound */
#define ENV_MAX 128
#define STRING_MAX 4095

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void vj_image_config_free(struct vj_image_config *c)
{
	free_strv(c->entrypoint);
	free_strv(c->cmd);
	free_strv(c->env);
	free(c->working_dir);
	free(c->user);
	memset(c, 0, sizeof(*c));
}

/* A JSON array of strings (or null / absent: *out NULL). */
static int strv(const struct vj_json *v, const char *key, size_t max, char ***out,
		struct vj_err *err)
{
	*out = NULL;
	if (!v || v->type == VJ_JSON_NULL)
		return 0;
	if (v->type != VJ_JSON_ARRAY)
		return vj_fail(err, -EINVAL, "config: %s: expected an array of strings", key);
	if (v->count > max)
		return vj_fail(err, -E2BIG, "config: %s: %zu entries, at most %zu", key, v->count,
			       max);
	char **a = calloc(v->count + 1, sizeof(*a));
	if (!a)
		return vj_fail(err, -ENOMEM, "out of memory");
	size_t i = 0;
	for (const struct vj_json *c = v->child; c; c = c->next, i++) {
		if (c->type != VJ_JSON_STRING || c->len > STRING_MAX) {
			free_strv(a);
			return vj_fail(err, -EINVAL,
				       "config: %s[%zu]: expected a string of at most %d bytes", key,
				       i, STRING_MAX);
		}
		if (!(a[i] = strdup(c->text))) {
			free_strv(a);
			return vj_fail(err, -ENOMEM, "out of memory");
		}
	}
	*out = a;
	return 0;
}

static int string(const struct vj_json *v, const char *key, char **out, struct vj_err *err)
{
	*out = NULL;
	if (!v || v->type == VJ_JSON_NULL || (v->type == VJ_JSON_STRING && v->len == 0))
		return 0;
	if (v->type != VJ_JSON_STRING || v->len > STRING_MAX)
		return vj_fail(err, -EINVAL, "config: %s: expected a string of at most %d bytes",
			       key, STRING_MAX);
	return (*out = strdup(v->text)) ? 0 : vj_fail(err, -ENOMEM, "out of memory");
}

static size_t count(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static int check_env(char **env, struct vj_err *err)
{
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i])
			return vj_fail(err, -EINVAL, "config: Env[%zu]: expected NAME=value", i);
	}
	return 0;
}

static int fields(const struct vj_json *cfg, struct vj_image_config *c, struct vj_err *err)
{
	int r;
	if (cfg && cfg->type != VJ_JSON_OBJECT && cfg->type != VJ_JSON_NULL)
		return vj_fail(err, -EINVAL, "config: \"config\" is not an object");
	if ((r = strv(vj_json_get(cfg, "Entrypoint"), "Entrypoint", ARGS_MAX, &c->entrypoint, err)) < 0 ||
	    (r = strv(vj_json_get(cfg, "Cmd"), "Cmd", ARGS_MAX, &c->cmd, err)) < 0 ||
	    (r = strv(vj_json_get(cfg, "Env"), "Env", ENV_MAX, &c->env, err)) < 0 ||
	    (r = string(vj_json_get(cfg, "WorkingDir"), "WorkingDir", &c->working_dir, err)) < 0 ||
	    (r = string(vj_json_get(cfg, "User"), "User", &c->user, err)) < 0)
		return r;
	if (count(c->entrypoint) + count(c->cmd) > ARGS_MAX)
		return vj_fail(err, -E2BIG, "config: Entrypoint and Cmd: more than %d arguments",
			       ARGS_MAX);
	if (c->working_dir && c->working_dir[0] != '/')
		return vj_fail(err, -EINVAL, "config: WorkingDir \"%s\": expected an absolute path",
			       c->working_dir);
	return check_env(c->env, err);
}

static int diff_ids(const struct vj_json *root, char ids[][VJ_IMAGE_DIGEST_MAX],
		    unsigned max, unsigned *n, struct vj_err *err)
{
	const struct vj_json *rootfs = vj_json_get(root, "rootfs"), *d;
	const char *type, *s;

	*n = 0;
	if (vj_json_string(vj_json_get(rootfs, "type"), &type) < 0 || strcmp(type, "layers"))
		return vj_fail(err, -EINVAL, "config: expected rootfs.type \"layers\"");
	d = vj_json_get(rootfs, "diff_ids");
	if (!d || d->type != VJ_JSON_ARRAY)
		return vj_fail(err, -EINVAL, "config: expected a rootfs.diff_ids array");
	if (d->count > max)
		return vj_fail(err, -E2BIG, "config: %zu layers, at most %u", d->count, max);
	for (const struct vj_json *c = d->child; c; c = c->next) {
		if (vj_json_string(c, &s) < 0 || !vj_digest_valid(s))
			return vj_fail(err, -EINVAL,
				       "config: rootfs.diff_ids[%u]: expected sha256:<64 hex digits>", *n);
		memcpy(ids[(*n)++], s, strlen(s) + 1);
	}
	return 0;
}

int vj_image_config_parse(const char *json, size_t len, struct vj_image_config *c,
			  char ids[][VJ_IMAGE_DIGEST_MAX], unsigned max_layers, unsigned *ndiff,
			  struct vj_err *err)
{
	cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = vj_json_parse(json, len, JSON_VALUES_MAX, &doc, err)) < 0)
		return vj_wrap(err, "config");
	if (doc.root->type != VJ_JSON_OBJECT)
		return vj_fail(err, -EINVAL, "config: expected an object");
	if ((r = fields(vj_json_get(doc.root, "config"), c, err)) < 0 ||
	    (r = diff_ids(doc.root, ids, max_layers, ndiff, err)) < 0) {
		vj_image_config_free(c);
		return r;
	}
	return 0;
}
