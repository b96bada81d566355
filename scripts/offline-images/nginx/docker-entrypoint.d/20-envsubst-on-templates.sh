#!/bin/sh
# Renders every $NGINX_ENVSUBST_TEMPLATE_DIR/**/*$NGINX_ENVSUBST_TEMPLATE_SUFFIX into
# $NGINX_ENVSUBST_OUTPUT_DIR (suffix dropped). Only variables that are set are substituted,
# and of those only the names matching the NGINX_ENVSUBST_FILTER regular expression when it is
# given, so nginx's own $variables are left alone.
set -eu
template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
  echo "$0: $output_dir is not writable; templates not rendered" >&2
  exit 0
fi

names=$(awk -v filter="$filter" 'BEGIN { for (name in ENVIRON) if (filter == "" || name ~ filter) print name }')
shell_format=""
for name in $names; do
  shell_format="$shell_format \${$name}"
done

find "$template_dir" -follow -type f -name "*$suffix" | while read -r template; do
  relative="${template#"$template_dir/"}"
  output="$output_dir/${relative%"$suffix"}"
  mkdir -p "$(dirname "$output")"
  echo "$0: rendering $template to $output"
  envsubst "$shell_format" <"$template" >"$output"
done
