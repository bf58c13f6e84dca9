#!/usr/bin/env bash
# shellcheck disable=SC2153  # the upper-case variables come from devstack and settings
#
# devstack plugin of qinling-lite: the API under uWSGI and the engine as devstack
# services, on devstack's database, RabbitMQ and Keystone. See README.rst.
#
#   stack pre-install   bubblewrap (local orchestrator)
#   stack install       qinling-lite (and the openstack CLI's Qinling plugin)
#   stack post-config   the service user and the function-engine catalog entry, the
#                       config file, the uWSGI file
#   stack extra         the database and its schema, the services, a runtime
#   unstack             stop the services
#   clean               remove the config and the state

# Save trace setting
_QINLING_LITE_XTRACE=$(set +o | grep xtrace)
set -o xtrace

# The public URL of the API, as in the catalog.
function qinling_lite_url {
    echo "$QINLING_LITE_SERVICE_PROTOCOL://$QINLING_LITE_SERVICE_HOST:$QINLING_LITE_SERVICE_PORT"
}

# host:port the API itself listens on (behind the TLS proxy, the internal port).
function qinling_lite_api_bind {
    local host=$QINLING_LITE_LISTEN_ADDRESS
    local port=$QINLING_LITE_SERVICE_PORT
    if is_service_enabled tls-proxy; then
        port=$QINLING_LITE_SERVICE_PORT_INT
    fi
    if [[ "$host" == *:* ]]; then
        host="[$host]"
    fi
    echo "$host:$port"
}

function qinling_lite_bin_dir {
    if [[ -n "${QINLING_LITE_BIN_DIR:-}" ]]; then
        echo "$QINLING_LITE_BIN_DIR"
    else
        get_python_exec_prefix
    fi
}

# The pip extras: the database's driver, and the Kubernetes client when it is used.
function qinling_lite_extras {
    local extras=""
    case "${DATABASE_TYPE:-mysql}" in
        mysql) extras=mysql ;;
        postgresql) extras=postgresql ;;
    esac
    if [[ "$QINLING_LITE_ORCHESTRATOR" == "kubernetes" ]]; then
        extras="${extras:+$extras,}kubernetes"
    fi
    echo "$extras"
}

# [local_orchestrator] egress_endpoints: Keystone's, and Swift's when it runs here.
function qinling_lite_egress_endpoints {
    if [[ -n "$QINLING_LITE_EGRESS_ENDPOINTS" ]]; then
        echo "$QINLING_LITE_EGRESS_ENDPOINTS"
        return
    fi
    local endpoints=$KEYSTONE_SERVICE_URI
    if is_service_enabled s-proxy; then
        endpoints+=",${SWIFT_SERVICE_PROTOCOL:-$SERVICE_PROTOCOL}://$SERVICE_HOST:${SWIFT_DEFAULT_BIND_PORT:-8080}"
    fi
    echo "$endpoints"
}

# The database's URL. On MySQL in 4-byte UTF-8: devstack's URLs ask for utf8 (3 bytes),
# which cannot hold every character functions' inputs and outputs may carry.
function qinling_lite_database_url {
    local url
    url=$(database_connection_url "$QINLING_LITE_DB_NAME")
    if [[ "${DATABASE_TYPE:-mysql}" == "mysql" ]]; then
        url=$(echo "$url" | sed -E 's/([?&]charset=)utf8(&|$)/\1utf8mb4\2/')
    fi
    echo "$url"
}

function pre_install_qinling_lite {
    if [[ "$QINLING_LITE_ORCHESTRATOR" == "local" && "$QINLING_LITE_LOCAL_SANDBOX" != "none" ]]; then
        install_package bubblewrap
    fi
}

function install_qinling_lite {
    setup_develop "$QINLING_LITE_DIR" "$(qinling_lite_extras)"
    if [[ "$QINLING_LITE_INSTALL_CLIENT" == "True" ]]; then
        pip_install "$QINLING_LITE_DIR/client"
    fi
}

# The service user (role service; it is also the trustee) and the catalog entry.
function create_qinling_lite_accounts {
    create_service_user "$QINLING_LITE_SERVICE_USER"
    get_or_create_service "qinling-lite" "$QINLING_LITE_SERVICE_TYPE" "Function Service"
    local url
    url=$(qinling_lite_url)
    get_or_create_endpoint "$QINLING_LITE_SERVICE_TYPE" "$REGION_NAME" "$url"
}

# Writes $QINLING_LITE_CONF_FILE from scratch.
function configure_qinling_lite {
    local conf=$QINLING_LITE_CONF_FILE
    sudo install -d -o "$STACK_USER" -m 755 "$QINLING_LITE_CONF_DIR"
    sudo install -d -o "$STACK_USER" -m 700 "$QINLING_LITE_STATE_PATH"
    rm -f "$conf"

    iniset "$conf" DEFAULT debug "$QINLING_LITE_DEBUG"
    iniset "$conf" DEFAULT state_path "$QINLING_LITE_STATE_PATH"
    iniset "$conf" DEFAULT qinling_endpoint "$(qinling_lite_url)"
    iniset "$conf" database connection "$(qinling_lite_database_url)"
    iniset_rpc_backend qinling-lite "$conf"

    local bind
    bind=$(qinling_lite_api_bind)
    iniset "$conf" api host "${QINLING_LITE_LISTEN_ADDRESS}"
    iniset "$conf" api port "${bind##*:}"
    iniset "$conf" api api_workers "$QINLING_LITE_API_WORKERS"
    iniset "$conf" api api_threads "$QINLING_LITE_API_THREADS"

    # Keystone: tokens checked by keystonemiddleware, trusts delegated to the same user.
    iniset "$conf" api auth_enable True
    configure_keystone_authtoken_middleware "$conf" "$QINLING_LITE_SERVICE_USER" \
        keystone_authtoken "$QINLING_LITE_SERVICE_TYPE"
    iniset "$conf" keystone_authtoken region_name "$REGION_NAME"
    iniset "$conf" trustee auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$conf" trustee username "$QINLING_LITE_SERVICE_USER"
    iniset "$conf" trustee password "$SERVICE_PASSWORD"
    iniset "$conf" trustee user_domain_name "$SERVICE_DOMAIN_NAME"
    if is_service_enabled tls-proxy; then
        iniset "$conf" trustee cafile "$SSL_BUNDLE_FILE"
    fi

    iniset "$conf" engine orchestrator "$QINLING_LITE_ORCHESTRATOR"
    case "$QINLING_LITE_ORCHESTRATOR" in
        local)
            iniset "$conf" local_orchestrator sandbox "$QINLING_LITE_LOCAL_SANDBOX"
            iniset "$conf" local_orchestrator egress_endpoints "$(qinling_lite_egress_endpoints)"
            ;;
        kubernetes)
            if [[ -n "$QINLING_LITE_KUBECONFIG" ]]; then
                if [[ ! -r "$QINLING_LITE_KUBECONFIG" ]]; then
                    warn "$LINENO" "QINLING_LITE_KUBECONFIG $QINLING_LITE_KUBECONFIG is not readable yet: qinling-lite-engine needs it"
                fi
                iniset "$conf" kubernetes kubeconfig "$QINLING_LITE_KUBECONFIG"
            fi
            iniset "$conf" kubernetes namespace "$QINLING_LITE_K8S_NAMESPACE"
            iniset "$conf" kubernetes replicas "$QINLING_LITE_K8S_REPLICAS"
            if [[ -n "$QINLING_LITE_K8S_ENGINE_CIDRS" ]]; then
                iniset "$conf" kubernetes engine_cidrs "$QINLING_LITE_K8S_ENGINE_CIDRS"
            fi
            ;;
        *)
            die "$LINENO" "QINLING_LITE_ORCHESTRATOR must be local or kubernetes, not '$QINLING_LITE_ORCHESTRATOR'"
            ;;
    esac

    # Log formats for the journal, as devstack's own services.
    setup_logging "$conf"

    if is_service_enabled qinling-lite-api && [[ "$QINLING_LITE_USE_UWSGI" == "True" ]]; then
        configure_qinling_lite_uwsgi
    fi
}

# uWSGI serves the WSGI application directly over HTTP (no Apache in front but the TLS
# proxy); the application reads the file QINLING_LITE_CONFIG_FILE names.
function configure_qinling_lite_uwsgi {
    local conf=$QINLING_LITE_UWSGI_CONF
    write_uwsgi_config "$conf" "qinling_lite.api.wsgi:application" "" \
        "$(qinling_lite_api_bind)" "qinling-lite-api"
    iniset "$conf" uwsgi processes "$QINLING_LITE_API_WORKERS"
    iniset "$conf" uwsgi threads "$QINLING_LITE_API_THREADS"
    iniset "$conf" uwsgi env "QINLING_LITE_CONFIG_FILE=$QINLING_LITE_CONF_FILE"
}

# The database and its schema, where the API runs (an engine-only node shares them).
function init_qinling_lite {
    if ! is_service_enabled qinling-lite-api; then
        return 0
    fi
    recreate_database "$QINLING_LITE_DB_NAME"
    if [[ "${DATABASE_TYPE:-mysql}" == "mysql" ]]; then
        mysql -u"$DATABASE_USER" -p"$DATABASE_PASSWORD" -h"$MYSQL_HOST" \
            -e "ALTER DATABASE $QINLING_LITE_DB_NAME CHARACTER SET utf8mb4"
    fi
    "$(qinling_lite_bin_dir)/qinling-lite-manage" --config-file "$QINLING_LITE_CONF_FILE" db upgrade
}

function start_qinling_lite {
    local bin_dir
    bin_dir=$(qinling_lite_bin_dir)
    if [[ "$QINLING_LITE_USE_UWSGI" == "True" ]]; then
        run_process qinling-lite-api "$(command -v uwsgi) --procname-prefix qinling-lite-api --ini $QINLING_LITE_UWSGI_CONF"
    else
        run_process qinling-lite-api "$bin_dir/qinling-lite-api --config-file $QINLING_LITE_CONF_FILE"
    fi
    if is_service_enabled qinling-lite-api && is_service_enabled tls-proxy; then
        start_tls_proxy qinling-lite '*' "$QINLING_LITE_SERVICE_PORT" \
            "$QINLING_LITE_SERVICE_HOST" "$QINLING_LITE_SERVICE_PORT_INT"
    fi
    run_process qinling-lite-engine "$bin_dir/qinling-lite-engine --config-file $QINLING_LITE_CONF_FILE"

    if is_service_enabled qinling-lite-api; then
        echo "Waiting for qinling-lite-api to start..."
        if ! wait_for_service "$SERVICE_TIMEOUT" "$(qinling_lite_url)"; then
            die "$LINENO" "qinling-lite-api did not start"
        fi
    fi
}

# A runtime for the demo project's functions (the engine builds its pool meanwhile).
function create_qinling_lite_runtime {
    if [[ -z "$QINLING_LITE_RUNTIME_IMAGE" || "$QINLING_LITE_INSTALL_CLIENT" != "True" ]] ||
        ! is_service_enabled qinling-lite-api; then
        return 0
    fi
    # The database was created afresh in this phase: there is no runtime yet.
    openstack --os-cloud devstack-admin runtime create \
        --name "$QINLING_LITE_RUNTIME_NAME" "$QINLING_LITE_RUNTIME_IMAGE"
}

function stop_qinling_lite {
    local service
    for service in qinling-lite-api qinling-lite-engine; do
        stop_process "$service"
    done
}

function cleanup_qinling_lite {
    rm -f "$QINLING_LITE_UWSGI_CONF" "$QINLING_LITE_CONF_FILE"
    sudo rm -rf "$QINLING_LITE_STATE_PATH"
}

if is_service_enabled qinling-lite-api qinling-lite-engine; then
    if [[ "${1:-}" == "stack" && "${2:-}" == "pre-install" ]]; then
        echo_summary "Installing qinling-lite's system packages"
        pre_install_qinling_lite

    elif [[ "${1:-}" == "stack" && "${2:-}" == "install" ]]; then
        echo_summary "Installing qinling-lite"
        install_qinling_lite

    elif [[ "${1:-}" == "stack" && "${2:-}" == "post-config" ]]; then
        echo_summary "Configuring qinling-lite"
        if is_service_enabled key; then
            create_qinling_lite_accounts
        fi
        configure_qinling_lite

    elif [[ "${1:-}" == "stack" && "${2:-}" == "extra" ]]; then
        echo_summary "Initializing and starting qinling-lite"
        init_qinling_lite
        start_qinling_lite
        create_qinling_lite_runtime
    fi

    if [[ "${1:-}" == "unstack" ]]; then
        echo_summary "Stopping qinling-lite"
        stop_qinling_lite
    fi

    if [[ "${1:-}" == "clean" ]]; then
        echo_summary "Cleaning qinling-lite"
        cleanup_qinling_lite
    fi
fi

# Restore xtrace
$_QINLING_LITE_XTRACE
