; Real mode, interrupt driven: programs the (in-kernel) 8259 PICs, prints
; "irq ok" from the UART's THRE interrupt (IRQ 4) one byte per interrupt,
; marks milestone 0x49, enables the ACPI power button and waits in HLT. The
; SCI (IRQ 9) handler powers off. So the console and the power button reach
; the guest as interrupts, not by polling.
bits 16
%include "defs.inc"
start:
    cli
    mov ax, cs
    mov ds, ax
    xor ax, ax
    mov es, ax
    mov word [es:0x0c * 4], serial_isr          ; IRQ 4 -> vector 0x0c
    mov word [es:0x0c * 4 + 2], cs
    mov word [es:0x71 * 4], sci_isr             ; IRQ 9 -> vector 0x71
    mov word [es:0x71 * 4 + 2], cs
    mov al, 0x11                                ; ICW1: edge, cascade, ICW4
    out 0x20, al
    out 0xa0, al
    mov al, 0x08                                ; ICW2: vector bases
    out 0x21, al
    mov al, 0x70
    out 0xa1, al
    mov al, 0x04                                ; ICW3: slave on IRQ 2
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01                                ; ICW4: 8086 mode
    out 0x21, al
    out 0xa1, al
    mov al, 0xeb                                ; master: IRQ 2 and 4 unmasked
    out 0x21, al
    mov al, 0xfd                                ; slave: IRQ 9 unmasked
    out 0xa1, al
    mov dx, COM1 + 4
    mov al, 0x08                                ; MCR: OUT2 gates the IRQ on PCs
    out dx, al
    mov dx, COM1 + 1
    mov al, 0x02                                ; IER: THRE interrupt
    out dx, al
    sti
.idle:
    hlt
    jmp .idle

serial_isr:
    push ax
    push bx
    push dx
    mov dx, COM1 + 2
    in al, dx                                   ; IIR: acknowledges THRE
    mov bx, [idx]
    mov al, [msg + bx]
    test al, al
    jz .finished
    mov dx, COM1
    out dx, al
    inc word [idx]
    jmp .eoi
.finished:
    mov dx, COM1 + 1
    xor al, al
    out dx, al                                  ; IER: no more interrupts
    mov dx, PM1_EN
    mov ax, PWRBTN
    out dx, ax
    mov al, 0x49
    out DEBUGPORT, al
.eoi:
    mov al, 0x20
    out 0x20, al
    pop dx
    pop bx
    pop ax
    iret

sci_isr:
    mov dx, PM1_STS
    in ax, dx
    out dx, ax                                  ; clear the status bits we saw
    mov dx, COM1
    mov al, 'S'
    out dx, al
    mov al, 10
    out dx, al
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    mov dx, PM1_CNT
    mov ax, S5_SLP_EN
    out dx, ax
.hang:
    jmp .hang

idx: dw 0
msg: db "irq ok", 10, 0
