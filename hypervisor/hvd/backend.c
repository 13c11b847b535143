/* The backend table: domain type -> ops. */
#include "backend.h"

static const struct hvd_backend_ops *const backends[DOMAIN_VIRT__LAST] = {
    [DOMAIN_VIRT_KVM] = &hvd_backend_vmm,
    [DOMAIN_VIRT_QEMU] = &hvd_backend_qemu,
};

const struct hvd_backend_ops *
hvd_backend_for(enum domain_virt virt)
{
    return virt < DOMAIN_VIRT__LAST ? backends[virt] : NULL;
}
