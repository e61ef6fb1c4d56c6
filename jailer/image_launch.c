/* A container image's root in a sandbox: see image_launch.h. */
#include "image_launch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "policy_load.h"

static void workload_free(struct vj_workload *w)
{
	for (uint32_t i = 0; i < w->argc; i++)
		free(w->argv[i]);
	for (uint32_t i = 0; i < w->envc; i++)
		free(w->env[i]);
	memset(w, 0, sizeof(*w));
}

static int add_arg(struct vj_workload *w, const char *s, struct vj_err *e)
{
	if (w->argc == VJ_MAX_ARGS)
		return vj_fail(e, -E2BIG, "image workload: more than %d arguments", VJ_MAX_ARGS);
	if (!(w->argv[w->argc] = strdup(s)))
		return vj_fail(e, -ENOMEM, "out of memory");
	w->argc++;
	return 0;
}

/* NAME=value, replacing an earlier NAME. */
static int set_env(struct vj_workload *w, const char *s, struct vj_err *e)
{
	const char *eq = strchr(s, '=');
	size_t n = eq ? (size_t)(eq - s) : strlen(s);
	uint32_t i = 0;

	while (i < w->envc && !(strncmp(w->env[i], s, n) == 0 && w->env[i][n] == '='))
		i++;
	if (i == VJ_MAX_ENV)
		return vj_fail(e, -E2BIG, "image workload: more than %d variables", VJ_MAX_ENV);
	char *copy = strdup(s);
	if (!copy)
		return vj_fail(e, -ENOMEM, "out of memory");
	if (i < w->envc)
		free(w->env[i]);
	else
		w->envc++;
	w->env[i] = copy;
	return 0;
}

static int build_workload(const struct vj_workload *policy, const struct vj_image_config *c,
			  struct vj_workload *out, struct vj_err *e)
{
	int r = 0;

	for (char **p = c->entrypoint; r == 0 && p && *p; p++)
		r = add_arg(out, *p, e);
	if (policy->argc)
		for (uint32_t i = 0; r == 0 && i < policy->argc; i++)
			r = add_arg(out, policy->argv[i], e);
	else
		for (char **p = c->cmd; r == 0 && p && *p; p++)
			r = add_arg(out, *p, e);
	for (char **p = c->env; r == 0 && p && *p; p++)
		r = set_env(out, *p, e);
	for (uint32_t i = 0; r == 0 && i < policy->envc; i++)
		r = set_env(out, policy->env[i], e);
	if (r == 0 && (out->argc == 0 || !out->argv[0][0]))
		r = vj_fail(e, -EINVAL,
			    "image workload: no program to run (the image has no Entrypoint or Cmd; give -- ARGV)");
	return r;
}

int vj_launch_attach_root(struct vj_launch *l, const struct vj_root_image *img,
			  struct vj_err *e)
{
	struct vj_vm_config *vm = &l->policy.vm;
	struct vj_workload w = { 0 };
	int r;

	if (vm->ndrives >= VJ_MAX_DRIVES || vm->ndrives >= VJ_AGENT_ROOT_DRIVES)
		return vj_fail(e, -E2BIG, "image: the policy has %u drives, no room for the image's",
			       vm->ndrives);
	if (strlen(img->path) >= VJ_PATH_MAX)
		return vj_fail(e, -ENAMETOOLONG, "image: path %s too long", img->path);
	if (strcmp(img->fstype, "erofs") && strcmp(img->fstype, "ext4"))
		return vj_fail(e, -EINVAL, "image: file system %s is neither erofs nor ext4",
			       img->fstype);
	if ((r = build_workload(&l->policy.workload, &img->config, &w, e)) < 0) {
		workload_free(&w);
		return r;
	}
	struct vj_drive_config *d = &vm->drives[vm->ndrives++];
	memset(d, 0, sizeof(*d));
	snprintf(d->file.name, sizeof(d->file.name), "%s", img->path);
	d->file.fd = -1;
	snprintf(d->id, sizeof(d->id), "%s", VJ_IMAGE_DRIVE_ID);
	d->read_only = true;
	workload_free(&l->policy.workload);
	l->policy.workload = w;
	l->root_image = img;
	return 0;
}

int vj_launch_open_image(struct vj_launch *l, struct vj_root_image *img, struct vj_err *e)
{
	int r;

	if ((r = vj_image_check_path(&l->host, l->image, e)) < 0 ||
	    (r = vj_image_open(&l->host, l->image, img, e)) < 0)
		return r;
	vj_info("image %s: %s, %s", l->image, img->digest,
		img->converted ? "converted" : "cached, nothing converted");
	return vj_launch_attach_root(l, img, e);
}

void vj_launch_root_frame(const struct vj_launch *l, struct vj_agent_root *out)
{
	const struct vj_root_image *img = l->root_image;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < l->policy.vm.ndrives; i++)
		if (!strcmp(l->policy.vm.drives[i].file.name, img->path))
			out->drive = (uint8_t)i;
	out->fstype = strcmp(img->fstype, "erofs") ? VJ_AGENT_ROOT_EXT4 : VJ_AGENT_ROOT_EROFS;
	/* 0: the guest kernel's tmpfs default, half the guest's memory. */
	out->upper_size = 0;
	if (img->config.user)
		snprintf(out->user, sizeof(out->user), "%s", img->config.user);
}
