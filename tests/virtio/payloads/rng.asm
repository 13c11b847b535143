; virtio-rng: one writable 32-byte buffer, print what came back.
%include "virtio.inc"

RING    equ 0x20000
BUF     equ 0x30000

start:
    mov ebx, 0x10441af4
    call pci_find
    cmp eax, -1
    jne .found
    mov esi, s_nodev
    jmp fail
.found:
    xor edx, edx
    call vio_open
    xor eax, eax
    mov ebx, RING
    call vio_queue
    call vio_driver_ok
    mov eax, BUF
    mov edx, 32
    mov esi, 2
    xor ecx, ecx
    call vio_desc
    mov word [RING + 14], 0     ; no NEXT flag was set; clear next anyway
    xor eax, eax
    xor ecx, ecx
    call vio_offer
    mov ecx, 1
    call vio_wait
    cmp dword [RING + 0x200 + 8], 32  ; used->ring[0].len
    je .len
    mov esi, s_len
    jmp fail
.len:
    mov esi, s_rng
    call puts
    xor ebx, ebx
    xor edx, edx
.l: movzx eax, byte [BUF + ebx]
    or edx, eax
    mov ecx, 2
    call puthex
    inc ebx
    cmp ebx, 32
    jb .l
    mov al, 10
    call putc
    test edx, edx
    jnz .ok
    mov esi, s_zero
    jmp fail
.ok:
    mov esi, s_done
    call puts
    jmp poweroff

s_nodev: db "no virtio-rng device", 0
s_len:   db "used length is not 32", 0
s_zero:  db "32 zero bytes", 0
s_rng:   db "rng ", 0
s_done:  db "rng done", 10, 0
